/**
 * Test beds for the linux tests: a veth pair across two network namespaces the test creates
 * (names start with napilab-test-), with GRO on the receiving side so it has NAPI instances.
 * Always call cleanup() (in after()/finally): deleting the namespaces removes the veth pair and
 * its NAPI kthreads.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

let counter = 0;

export interface VethBed {
  /** Namespace of the sending side (device "va", GRO off: no NAPI). */
  nsA: string;
  /** Namespace of the receiving side (device "vb", GRO on: one NAPI per rx queue). */
  nsB: string;
  cleanup(): void;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function requireRoot(): void {
  assert.equal(process.getuid?.(), 0, "the linux tests build network namespaces and must run as root");
}

/** prefix: the namespaces' name prefix (benchmarks use their own, so a leftover says who made it). */
export function createVethBed(rxQueues = 2, prefix = "napilab-test"): VethBed {
  requireRoot();
  const tag = `${process.pid}-${++counter}`;
  const nsA = `${prefix}-${tag}-a`;
  const nsB = `${prefix}-${tag}-b`;
  const cleanup = () => {
    for (const ns of [nsA, nsB]) if (existsSync(`/run/netns/${ns}`)) spawnSync("ip", ["netns", "del", ns]);
  };
  try {
    ip("netns", "add", nsA);
    ip("netns", "add", nsB);
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
      nsA,
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
      nsB,
    );
    ip("-n", nsA, "link", "set", "va", "up");
    ip("-n", nsB, "link", "set", "vb", "up");
    execFileSync("ip", ["netns", "exec", nsB, "ethtool", "-K", "vb", "gro", "on"], { stdio: "ignore" });
  } catch (err) {
    cleanup();
    throw err;
  }
  return { nsA, nsB, cleanup };
}

/** Runs the built CLI (npm test builds before testing) as a user would, optionally as another uid. */
export { runCli } from "../support/cli.js";
