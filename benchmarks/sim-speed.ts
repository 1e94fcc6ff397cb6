/**
 * `npm run bench:sim`: how fast the model runs (issue 13). Prints, per NAPI mode, for a 2-CPU host
 * under a 2 Mpps, 25-flow UDP flood (64-byte datagrams):
 *   - offered and delivered datagrams per wall-clock second (a mode that drops more would look faster
 *     on the offered figure alone: a ring drop costs almost nothing), with the CPU-time figure too;
 *   - events per offered datagram;
 *   - allocation per simulated second (V8 heap: what the run allocated, collected or not);
 * then the large-host case (32 CPUs, 16 queues, 1000 flows, 10 Mpps offered) as simulated seconds
 * per wall second, and the time of the 90 cells of `napilab reproduce` on one thread.
 * Target: at least 20 M offered datagrams per wall second in every mode; large host >= 1 simulated
 * second per wall second; 90 seed cells in under 2.5 s.
 *
 * Each mode gets an untimed warm-up run (JIT), then SIM_BENCH_RUNS timed runs (default 3); the
 * median is printed with the range, so one disturbed run on a shared machine does not decide.
 * Knobs: SIM_BENCH_NS (simulated ns per run, default 1e9), SIM_BENCH_RUNS, SIM_BENCH_LARGE_NS
 * (default 1e8), SIM_BENCH_SEED=0 to skip the seed cells. `--dist` measures the compiled model in
 * dist/ (what `napilab` runs; `npm run build` first) instead of the TypeScript sources under tsx.
 */
import v8 from "node:v8";

import { floodCase, type SimMode as Mode, seedCells } from "./sim-cases.js";

type FloodMod = typeof import("../src/model/scenarios/flood.js");
type ProfileMod = typeof import("../src/model/profile.js");
type ReproduceMod = typeof import("../src/model/scenarios/reproduce.js");
type SeedMod = typeof import("../src/model/scenarios/seed.js");

const fromDist = process.argv.includes("--dist");
const base = fromDist ? "../dist/model/" : "../src/model/";
const { runFlood } = (await import(`${base}scenarios/flood.js`)) as FloodMod;
const { loadProfile } = (await import(`${base}profile.js`)) as ProfileMod;
const { runSeedCells } = (await import(`${base}scenarios/reproduce.js`)) as ReproduceMod;
const { SEED_CONFIGS } = (await import(`${base}scenarios/seed.js`)) as SeedMod;

const profile = loadProfile("default");
const durationNs = Number(process.env.SIM_BENCH_NS ?? 1e9);
const runs = Math.max(1, Number(process.env.SIM_BENCH_RUNS ?? 3));
const largeNs = Number(process.env.SIM_BENCH_LARGE_NS ?? 1e8);
const out = (s: string) => process.stdout.write(`${s}\n`);
const m = (x: number) => (x / 1e6).toFixed(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const range = (xs: number[]) => `${m(Math.min(...xs))}-${m(Math.max(...xs))}M`;

interface Sample {
  wallMs: number;
  cpuMs: number;
  offered: number;
  delivered: number;
  events: number;
}

function flood(mode: Mode, ns: number, large = false): Sample {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = runFlood({ profile, ...floodCase(mode, ns, large) });
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return {
    wallMs,
    cpuMs: (c.user + c.system) / 1000,
    offered: r.sim.datagrams,
    delivered: Math.round((r.deliveredPps * ns) / 1e9),
    events: r.sim.events,
  };
}

/** Bytes the V8 heap allocated during fn (live growth plus what the collections freed). */
function allocatedBytes(fn: () => void): number {
  const profiler = new v8.GCProfiler();
  const before = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  fn();
  const gcs = profiler.stop();
  const after = v8.getHeapStatistics().used_heap_size;
  let freed = 0;
  for (const g of gcs?.statistics ?? [])
    freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  return after - before + freed;
}

out(
  `sim-speed: the model from ${fromDist ? "dist/ (compiled)" : "src/ (tsx)"}; 2 CPUs, 2 Mpps offered, 25 flows, 64 B, ` +
    `${durationNs / 1e9}s simulated per run, median of ${runs} (range); wall clock, and CPU time of this process`,
);
let totalOffered = 0;
let totalWall = 0;
for (const mode of ["softirq", "threaded", "busy-poll"] as const) {
  flood(mode, 200e6); // warm-up: compile the hot paths of this mode
  const samples = Array.from({ length: runs }, () => flood(mode, durationNs));
  const offered = samples.map((s) => s.offered / (s.wallMs / 1000));
  const delivered = samples.map((s) => s.delivered / (s.wallMs / 1000));
  const offeredCpu = samples.map((s) => s.offered / (s.cpuMs / 1000));
  const mid = samples[offered.indexOf(median(offered))] as Sample;
  totalOffered += mid.offered;
  totalWall += mid.wallMs;
  const allocNs = Math.min(durationNs, 200e6);
  const bytes = allocatedBytes(() => flood(mode, allocNs));
  out(
    `sim-speed ${mode.padEnd(9)} offered ${m(median(offered))}M/s (${range(offered)}), ` +
      `delivered ${m(median(delivered))}M/s (${range(delivered)}), ` +
      `offered per CPU second ${m(median(offeredCpu))}M (${range(offeredCpu)}); ` +
      `${(mid.events / mid.offered).toFixed(3)} events per offered datagram ` +
      `(${(mid.events / mid.delivered).toFixed(3)} per delivered), ` +
      `${(bytes / 1e6 / (allocNs / 1e9)).toFixed(1)} MB allocated per simulated second, ` +
      `${mid.wallMs.toFixed(0)} ms wall`,
  );
}
out(
  `sim-speed overall: ${m(totalOffered / (totalWall / 1000))}M offered datagrams per wall-clock second (target >= 20M in every mode)`,
);

// the large host: 32 CPUs, 16 rx queues, 1000 flows with 1000 receivers, 10 Mpps offered
for (const mode of ["threaded", "softirq"] as const) {
  flood(mode, 10e6, true); // warm-up
  const s = flood(mode, largeNs, true);
  const simSecs = (largeNs + 10e6) / 1e9; // the warm-up is simulated too
  out(
    `sim-speed large host ${mode.padEnd(8)} 32 CPUs, 16 queues, 1000 flows, 10 Mpps: ` +
      `${(simSecs / (s.wallMs / 1000)).toFixed(3)} simulated s per wall s ` +
      `(${(simSecs / (s.cpuMs / 1000)).toFixed(3)} per CPU s; ${largeNs / 1e9}s measured + 10ms warm-up in ${s.wallMs.toFixed(0)} ms; ` +
      `${(s.events / s.offered).toFixed(2)} events per datagram; target >= 1)`,
  );
}

if (process.env.SIM_BENCH_SEED !== "0") {
  const seedProfile = loadProfile("seed-experiment");
  const cells = seedCells(SEED_CONFIGS);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await runSeedCells(seedProfile, cells, 0);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  out(
    `sim-speed seed: the 90 cells of napilab reproduce (50 ms each) on one thread: ${(wall / 1000).toFixed(2)} s wall, ` +
      `${((c.user + c.system) / 1e6).toFixed(2)} s CPU (target < 2.5 s; the first cells include JIT warm-up)`,
  );
}
