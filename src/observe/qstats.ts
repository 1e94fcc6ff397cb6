/**
 * Per-queue counters from the netdev family's qstats-get (kernel `netdev_nl_qstats_get_dumpit`,
 * net/core/netdev-genl.c), dumped with scope "queue". Only drivers that implement
 * `netdev_stat_ops` answer it; for the others observe falls back to /proc/net/dev device counters.
 */
import type { NetdevClient } from "../linux/index.js";
import type { AttrSet, DecodedAttrs } from "../linux/netlink/codec.js";
import { NETDEV_CMD } from "../linux/netlink/families.js";
import { NetlinkError } from "../linux/netlink/socket.js";

/** netdev `qstats` attribute set (NETDEV_A_QSTATS_*, include/uapi/linux/netdev.h). */
export const NETDEV_QSTATS: AttrSet = {
  name: "qstats",
  attrs: {
    1: { name: "ifindex", type: "u32" },
    2: { name: "queueType", type: "u32" },
    3: { name: "queueId", type: "u32" },
    4: { name: "scope", type: "uint" },
    8: { name: "rxPackets", type: "uint" },
    9: { name: "rxBytes", type: "uint" },
    10: { name: "txPackets", type: "uint" },
    11: { name: "txBytes", type: "uint" },
    12: { name: "rxAllocFail", type: "uint" },
    13: { name: "rxHwDrops", type: "uint" },
    14: { name: "rxHwDropOverruns", type: "uint" },
  },
};

/** NETDEV_QSTATS_SCOPE_QUEUE: one reply per queue instead of one per device. */
const SCOPE_QUEUE = 1;

export interface QueueCounters {
  ifindex: number;
  /** rx queue index. */
  queue: number;
  rxPackets: number;
  rxBytes: number;
  /** Packets the NIC or driver dropped on this queue (hw drops + overruns + alloc failures), if reported. */
  rxDrops: number | null;
}

const num = (v: unknown): number | undefined =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;

/** Per rx-queue counters of the client's namespace; empty when no device reports any. */
export function dumpRxQueueStats(client: NetdevClient): QueueCounters[] {
  const f = client.family;
  if (!f?.ops.has(NETDEV_CMD.qstatsGet)) return [];
  let replies: DecodedAttrs[];
  try {
    replies = client.genl.dumpRequest(
      f,
      NETDEV_CMD.qstatsGet,
      NETDEV_QSTATS,
      { scope: SCOPE_QUEUE },
      "qstats",
    );
  } catch (err) {
    if (err instanceof NetlinkError) return []; // EOPNOTSUPP and friends: counters come from /proc/net/dev
    throw err;
  }
  return queueCounters(replies);
}

/** Per rx-queue counters from decoded qstats replies (tx queues and incomplete replies are skipped). */
export function queueCounters(replies: DecodedAttrs[]): QueueCounters[] {
  const out: QueueCounters[] = [];
  for (const a of replies) {
    if (num(a.queueType) !== 0) continue; // rx queues only
    const ifindex = num(a.ifindex);
    const queue = num(a.queueId);
    if (ifindex === undefined || queue === undefined) continue;
    const drops = [num(a.rxHwDrops), num(a.rxHwDropOverruns), num(a.rxAllocFail)].filter(
      (v): v is number => v !== undefined,
    );
    out.push({
      ifindex,
      queue,
      rxPackets: num(a.rxPackets) ?? 0,
      rxBytes: num(a.rxBytes) ?? 0,
      rxDrops: drops.length === 0 ? null : drops.reduce((s, v) => s + v, 0),
    });
  }
  return out;
}
