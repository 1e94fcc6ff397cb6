/**
 * A real test bed for the observe tests: a sender namespace and a receiver namespace of this test
 * process (napilab-test-observe-<pid>-N-{tx,rx}), a veth pair with two rx queues, GRO on (a veth
 * has NAPI instances only then) and addresses from 198.18.0.0/15. Traffic comes from napilab's
 * own generator (src/bench/traffic.ts) through this thin helper, so the tests do not depend on
 * how the bench drives it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { ThreadGroup } from "../../src/bench/traffic.js";

export const TX_ADDR = "198.18.0.1";
export const RX_ADDR = "198.18.0.2";

let counter = 0;

export interface ObserveBed {
  tx: string;
  rx: string;
  /** The receiving device (in `rx`). */
  ifname: "vb";
  cleanup(): void;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

export function createBed(rxQueues = 2): ObserveBed {
  const tag = `observe-${process.pid}-${++counter}`;
  const tx = `napilab-test-${tag}-tx`;
  const rx = `napilab-test-${tag}-rx`;
  const cleanup = () => {
    for (const ns of [tx, rx]) if (existsSync(`/run/netns/${ns}`)) spawnSync("ip", ["netns", "del", ns]);
  };
  try {
    ip("netns", "add", tx);
    ip("netns", "add", rx);
    const q = String(rxQueues);
    ip(
      "link",
      "add",
      "va",
      "numrxqueues",
      q,
      "numtxqueues",
      q,
      "netns",
      tx,
      "type",
      "veth",
      "peer",
      "name",
      "vb",
      "numrxqueues",
      q,
      "numtxqueues",
      q,
      "netns",
      rx,
    );
    ip("-n", tx, "addr", "add", `${TX_ADDR}/30`, "dev", "va");
    ip("-n", rx, "addr", "add", `${RX_ADDR}/30`, "dev", "vb");
    ip("-n", tx, "link", "set", "va", "up");
    ip("-n", rx, "link", "set", "vb", "up");
    ip("-n", tx, "link", "set", "lo", "up");
    ip("-n", rx, "link", "set", "lo", "up");
    execFileSync("ip", ["netns", "exec", rx, "ethtool", "-K", "vb", "gro", "on"], { stdio: "ignore" });
    // with TSO on the sending veth, socket traffic bypasses the peer's NAPI (veth_skb_is_eligible_for_gro)
    execFileSync("ip", ["netns", "exec", tx, "ethtool", "-K", "va", "tso", "off"], { stdio: "ignore" });
  } catch (err) {
    cleanup();
    throw err;
  }
  return { tx, rx, ifname: "vb", cleanup };
}

/** Start napilab's UDP sender from the tx namespace to `ports` of the receiver, paced to `ratePps` (0 = flood). */
export function startSender(
  bed: ObserveBed,
  o: { cpus: number[]; ports: number[]; ratePps: number; size?: number },
): Promise<ThreadGroup> {
  return ThreadGroup.start([
    {
      role: "sender",
      netns: bed.tx,
      cpus: o.cpus,
      source: TX_ADDR,
      destination: RX_ADDR,
      ports: o.ports,
      size: o.size ?? 64,
      batch: 32,
      ratePps: o.ratePps,
      generator: "udp",
      wholeDatagrams: false,
    },
  ]);
}
