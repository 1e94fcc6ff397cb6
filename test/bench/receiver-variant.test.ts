import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import {
  describeReceiverVariant,
  probeReceiverVariant,
  type ReceiverVariant,
  validateReceiverVariant,
} from "../../src/bench/receiver-variant.js";
import { ThreadGroup } from "../../src/bench/traffic.js";
import { createVethBed, runCli, type VethBed } from "../linux/fixture.js";

const RX = "198.18.0.2";

/** TcpExt BusyPollRxPackets of a namespace (LINUX_MIB_BUSYPOLLRXPACKETS: packets a busy poller got). */
function busyPollRxPackets(ns: string): number {
  const text = execFileSync("ip", ["netns", "exec", ns, "cat", "/proc/net/netstat"], { encoding: "utf8" });
  const lines = text.split("\n").filter((l) => l.startsWith("TcpExt:"));
  const names = (lines[0] ?? "").split(/\s+/);
  const values = (lines[1] ?? "").split(/\s+/);
  const i = names.indexOf("BusyPollRxPackets");
  assert.ok(i > 0, "no BusyPollRxPackets counter");
  return Number(values[i]);
}
const TX = "198.18.0.1";

async function receive(bed: VethBed, variant: ReceiverVariant | undefined, port: number) {
  const receivers = await ThreadGroup.start([
    { role: "receiver", netns: bed.nsB, cpus: [0], address: RX, port, ...(variant ? { variant } : {}) },
  ]);
  try {
    const sender = await ThreadGroup.start([
      {
        role: "sender",
        netns: bed.nsA,
        cpus: [1],
        source: TX,
        destination: RX,
        ports: [port],
        size: 64,
        batch: 8,
        ratePps: 20_000,
        generator: "udp",
        wholeDatagrams: false,
      },
    ]);
    await new Promise((r) => setTimeout(r, 400));
    await sender.stop();
    await new Promise((r) => setTimeout(r, 100));
    return {
      packets: receivers.packets()[0] ?? 0,
      napiId: receivers.napiIds()[0] ?? 0,
      failed: receivers.failed,
    };
  } finally {
    await receivers.stop();
  }
}

describe("bench receiver variants on a real veth (own namespaces)", () => {
  let bed: VethBed;
  before(() => {
    bed = createVethBed(1);
    execFileSync("ip", ["-n", bed.nsA, "addr", "add", `${TX}/30`, "dev", "va"]);
    execFileSync("ip", ["-n", bed.nsB, "addr", "add", `${RX}/30`, "dev", "vb"]);
    // as the bench's topology: TSO off on the sender, or veth takes netif_rx instead of its NAPI
    execFileSync("ip", ["netns", "exec", bed.nsA, "ethtool", "-K", "va", "tso", "off"], { stdio: "ignore" });
  });
  after(() => bed?.cleanup());

  // the busy-poll window (1 ms) is longer than the gap between the sender's batches (8 datagrams at
  // 20 kpps: 400 us), so the poller holds the NAPI when the next batch lands and takes it itself
  const busy: ReceiverVariant = {
    kind: "blocking",
    busyPollUs: 1000,
    preferBusyPoll: true,
    busyPollBudget: 16,
  };
  const spin: ReceiverVariant = {
    kind: "nonblocking",
    busyPollUs: 50,
    preferBusyPoll: false,
    busyPollBudget: 0,
  };

  it("this kernel accepts SO_BUSY_POLL, SO_PREFER_BUSY_POLL and SO_BUSY_POLL_BUDGET in the namespace", () => {
    probeReceiverVariant(bed.nsB, busy);
    probeReceiverVariant(bed.nsB, spin);
  });

  it("a blocking busy-polling receiver gets the datagrams, and they came through a NAPI it can poll", async () => {
    const before = busyPollRxPackets(bed.nsB);
    const r = await receive(bed, busy, 40_001);
    assert.equal(r.failed, undefined);
    assert.ok(busyPollRxPackets(bed.nsB) > before, "the kernel counted packets taken by busy polling");
    assert.ok(r.packets > 1000, `received ${r.packets}`);
    // veth with GRO on has a NAPI; SO_INCOMING_NAPI_ID >= MIN_NAPI_ID means sk_busy_loop can find it
    assert.ok(r.napiId > 0, `SO_INCOMING_NAPI_ID ${r.napiId}`);
  });

  it("a non-blocking receiver spinning on EAGAIN gets them too", async () => {
    const r = await receive(bed, spin, 40_002);
    assert.equal(r.failed, undefined);
    assert.ok(r.packets > 1000, `received ${r.packets}`);
  });

  it("without GRO veth has no NAPI: SO_INCOMING_NAPI_ID stays 0, busy polling has nothing to poll", async () => {
    execFileSync("ip", ["netns", "exec", bed.nsB, "ethtool", "-K", "vb", "gro", "off"], { stdio: "ignore" });
    try {
      const r = await receive(bed, busy, 40_003);
      assert.ok(r.packets > 1000, `received ${r.packets}`);
      assert.equal(r.napiId, 0);
    } finally {
      execFileSync("ip", ["netns", "exec", bed.nsB, "ethtool", "-K", "vb", "gro", "on"], { stdio: "ignore" });
    }
  });

  it("napilab bench rejects bad receiver flags with one line, before building anything", () => {
    for (const args of [
      ["--prefer-busy-poll"],
      ["--receiver", "epoll"],
      ["--busy-read", "1500ns"],
      ["--busy-poll-budget", "0", "--busy-read", "10us"],
    ]) {
      const r = runCli(["bench", "--quick", "--no-save", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^napilab: /);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    }
  });

  it("variants are validated and described", () => {
    assert.equal(describeReceiverVariant(busy), "blocking+busy-read 1000us+prefer-busy-poll+budget 16");
    assert.throws(
      () =>
        validateReceiverVariant({ kind: "blocking", busyPollUs: 0, preferBusyPoll: true, busyPollBudget: 0 }),
      /--prefer-busy-poll/,
    );
    assert.throws(() => validateReceiverVariant({ ...spin, busyPollBudget: 70_000 }), /--busy-poll-budget/);
  });
});
