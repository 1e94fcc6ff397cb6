/**
 * A real test bed for the observe tests: a sender namespace and a receiver namespace of this test
 * process (the linux tests' veth bed, napilab-test-<pid>-N-{a,b}), a veth pair with two rx queues, GRO on (a veth
 * has NAPI instances only then) and addresses from 198.18.0.0/15. Traffic comes from napilab's
 * own generator (src/bench/traffic.ts) through this thin helper, so the tests do not depend on
 * how the bench drives it.
 */
import { execFileSync } from "node:child_process";
import { ThreadGroup } from "../../src/bench/traffic.js";
import { createVethBed } from "../linux/fixture.js";

export const TX_ADDR = "198.18.0.1";
export const RX_ADDR = "198.18.0.2";

export interface ObserveBed {
  tx: string;
  rx: string;
  /** The receiving device (in `rx`). */
  ifname: "vb";
  cleanup(): void;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** The linux tests' veth bed (va -> vb, GRO on vb), plus addresses, loopback and TSO off for traffic. */
export function createBed(rxQueues = 2, prefix?: string): ObserveBed {
  const bed = createVethBed(rxQueues, prefix);
  const [tx, rx] = [bed.nsA, bed.nsB];
  try {
    ip("-n", tx, "addr", "add", `${TX_ADDR}/30`, "dev", "va");
    ip("-n", rx, "addr", "add", `${RX_ADDR}/30`, "dev", "vb");
    ip("-n", tx, "link", "set", "lo", "up");
    ip("-n", rx, "link", "set", "lo", "up");
    // with TSO on the sending veth, socket traffic bypasses the peer's NAPI (veth_skb_is_eligible_for_gro)
    execFileSync("ip", ["netns", "exec", tx, "ethtool", "-K", "va", "tso", "off"], { stdio: "ignore" });
  } catch (err) {
    bed.cleanup();
    throw err;
  }
  return { tx, rx, ifname: "vb", cleanup: bed.cleanup };
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
