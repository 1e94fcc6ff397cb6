/** qstats-get replies (netdev family) decoded with napilab's attribute table, as the kernel encodes them. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeAttrs, encodeAttrs } from "../../src/linux/netlink/codec.js";
import { NETDEV_QSTATS, queueCounters } from "../../src/observe/qstats.js";

/** A reply as the kernel builds it (nla_put_uint: 4 bytes when the value fits, else 8). */
const reply = (v: Record<string, number | bigint>) =>
  decodeAttrs(encodeAttrs(v, NETDEV_QSTATS), NETDEV_QSTATS);

describe("qstats-get decoding", () => {
  it("keeps rx queues, sums the drop counters the driver reports, and reads 64-bit counters", () => {
    const out = queueCounters([
      reply({
        ifindex: 3,
        queueType: 0,
        queueId: 0,
        rxPackets: 10,
        rxBytes: 2n ** 40n,
        rxHwDrops: 2,
        rxAllocFail: 1,
      }),
      reply({ ifindex: 3, queueType: 1, queueId: 0, txPackets: 99 }),
      reply({ ifindex: 3, queueType: 0, queueId: 1, rxPackets: 7, rxBytes: 700 }),
      reply({ ifindex: 3, queueType: 0, rxPackets: 1 }), // no queue id: not a per-queue reply
    ]);
    assert.deepEqual(out, [
      { ifindex: 3, queue: 0, rxPackets: 10, rxBytes: 2 ** 40, rxDrops: 3 },
      { ifindex: 3, queue: 1, rxPackets: 7, rxBytes: 700, rxDrops: null },
    ]);
  });
});
