/**
 * The golden set: model configurations whose full results are committed in test/golden/*.json and
 * must stay byte-identical through every speed change (issue 13). A change that alters one of these
 * files is a model change and needs its own justification. Regenerate with `npm run golden:update`.
 */

import { loadProfile } from "../../src/model/profile.js";
import type { FloodOptions } from "../../src/model/scenarios/flood.js";
import { runFlood } from "../../src/model/scenarios/flood.js";
import { runSeedCell, SEED_CONFIGS } from "../../src/model/scenarios/seed.js";

type FloodCase = Omit<FloodOptions, "profile">;

const base = { cpus: 2, ratePps: 2e6, size: 64, flows: 25, durationNs: 50e6, warmupNs: 10e6 } as const;

/** Flood configurations: every mode, every softirq policy, hogs, busy read, CFS, many queues,
 * fragmentation, RT NAPI threads, pinning, and a short large-host run. */
export const FLOOD_CASES: Record<string, FloodCase> = {
  "softirq-6.5": { ...base, mode: "softirq", softirqPolicy: "6.5" },
  "softirq-4.9": { ...base, mode: "softirq", softirqPolicy: "4.9" },
  "softirq-pre-4.9": { ...base, mode: "softirq", softirqPolicy: "pre-4.9" },
  threaded: { ...base, mode: "threaded" },
  "busy-poll": { ...base, mode: "busy-poll" },
  "livelock-1cpu-4.9": { ...base, cpus: 1, flows: 1, ratePps: 1.4e6, mode: "softirq", softirqPolicy: "4.9" },
  "livelock-1cpu-6.5": { ...base, cpus: 1, flows: 1, ratePps: 1.4e6, mode: "softirq", softirqPolicy: "6.5" },
  "livelock-1cpu-pre-4.9-hog": {
    ...base,
    cpus: 1,
    flows: 4,
    ratePps: 1e6,
    hogs: 1,
    mode: "softirq",
    softirqPolicy: "pre-4.9",
  },
  "livelock-1cpu-threaded": { ...base, cpus: 1, flows: 1, ratePps: 1.4e6, mode: "threaded" },
  "softirq-hogs": { ...base, mode: "softirq", hogs: 2, softirqPolicy: "4.9" },
  "threaded-hogs": { ...base, mode: "threaded", hogs: 3 },
  "busy-poll-hogs": { ...base, mode: "busy-poll", hogs: 2 },
  "threaded-cfs-hogs": { ...base, mode: "threaded", hogs: 2, fairClass: "cfs" },
  "softirq-cfs": { ...base, mode: "softirq", fairClass: "cfs", flows: 50 },
  "busy-read-softirq": { ...base, mode: "softirq", busyReadNs: 50_000 },
  "busy-read-threaded-cfs": { ...base, mode: "threaded", busyReadNs: 20_000, fairClass: "cfs" },
  "many-queues-softirq": { ...base, cpus: 4, queues: 16, flows: 200, ratePps: 3e6, mode: "softirq" },
  "many-queues-threaded": { ...base, cpus: 4, queues: 16, flows: 200, ratePps: 3e6, mode: "threaded" },
  "frag-8000-threaded": { ...base, size: 8000, flows: 10, ratePps: 200e3, mode: "threaded" },
  "frag-64000-softirq": { ...base, size: 64000, flows: 4, ratePps: 30e3, mode: "softirq" },
  "frag-1472-busy-poll": { ...base, size: 1472, flows: 8, ratePps: 1e6, mode: "busy-poll" },
  "rt-napi-threaded": {
    ...base,
    mode: "threaded",
    hogs: 2,
    napiPolicy: { policy: "fifo", priority: 50 },
  },
  "rt-napi-pinned": {
    ...base,
    cpus: 3,
    mode: "threaded",
    napiPolicy: { policy: "rr", priority: 10 },
    napiCpus: [0],
    receiverCpus: [1, 2],
    hogCpus: [2],
    hogs: 1,
  },
  "deadline-napi": {
    ...base,
    mode: "threaded",
    hogs: 1,
    napiPolicy: { policy: "deadline", runtimeNs: 200_000, deadlineNs: 500_000, periodNs: 1_000_000 },
  },
  "nice-receivers": { ...base, mode: "threaded", receiverPolicy: { policy: "other", nice: 5 }, seed: 7 },
  "large-host": {
    cpus: 32,
    queues: 16,
    flows: 1000,
    ratePps: 10e6,
    size: 64,
    mode: "threaded",
    durationNs: 5e6,
    warmupNs: 2e6,
  },
};

export const SEED_SIZES = [1, 64, 256, 1438, 4096, 64000];
export const SEED_FLOWS = [1, 25, 50, 100, 200];

/** A result as committed: everything but the wall-clock time, JSON with two-space indent. */
export function serialise(result: unknown): string {
  return `${JSON.stringify(result, (k, v) => (k === "wallMs" ? undefined : v), 2)}\n`;
}

export function floodGolden(name: string): string {
  const c = FLOOD_CASES[name];
  if (!c) throw new Error(`no golden case ${name}`);
  return serialise(runFlood({ ...c, profile: loadProfile("default") }));
}

/** All 90 cells of `napilab reproduce` with its defaults (seed-experiment profile, 50 ms, seed 1). */
export function seedGolden(): string {
  const profile = loadProfile("seed-experiment");
  const cells = [];
  for (const size of SEED_SIZES)
    for (const flows of SEED_FLOWS)
      for (const config of SEED_CONFIGS) cells.push(runSeedCell({ profile, size, flows, config }));
  return serialise(cells);
}
