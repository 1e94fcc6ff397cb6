/**
 * `npm run bench:observe`: what observing costs. Prints the CPU time (user + system, from
 * process.cpuUsage) of one sample (what `napilab top` does per refresh) and of one scrape (a
 * sample plus the Prometheus text, what `napilab exporter` does per GET /metrics), on this host's
 * own namespace and on a synthetic /proc tree of 64 NAPI instances and 64 CPUs. Target: under 0.5%
 * of one CPU at a 1 s interval, i.e. under 5 ms of CPU per sample or scrape.
 *
 * Each figure is the median of OBSERVE_BENCH_RUNS runs (default 3) of OBSERVE_BENCH_SAMPLES samples
 * (default 200) after a warm-up, with the range of the runs beside it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ObserveMetrics } from "../src/observe/metrics.js";
import { Sampler, type SamplerOptions } from "../src/observe/sampler.js";
import { writeSyntheticTree } from "../src/observe/synthetic-tree.js";

const runs = Math.max(1, Number(process.env.OBSERVE_BENCH_RUNS ?? 3));
const samples = Math.max(10, Number(process.env.OBSERVE_BENCH_SAMPLES ?? 200));
const TARGET_PCT = 0.5;

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** CPU µs per call of fn, median and range over the runs. */
async function measure(fn: () => Promise<void> | void): Promise<{ mid: number; lo: number; hi: number }> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up: JIT, caches
  const per: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = cpuUs();
    for (let i = 0; i < samples; i++) await fn();
    per.push((cpuUs() - t0) / samples);
  }
  return { mid: median(per), lo: Math.min(...per), hi: Math.max(...per) };
}

function line(what: string, m: { mid: number; lo: number; hi: number }): string {
  const pct = m.mid / 1e4; // µs per 1 s interval -> % of one CPU
  const verdict = pct < TARGET_PCT ? "ok" : "OVER TARGET";
  return (
    `${what.padEnd(44)} ${(m.mid / 1000).toFixed(3).padStart(7)} ms CPU ` +
    `(runs ${(m.lo / 1000).toFixed(3)}-${(m.hi / 1000).toFixed(3)})  = ${pct.toFixed(3)}% of one CPU at 1 s  ${verdict}`
  );
}

async function bench(label: string, opts: SamplerOptions, describe: (s: Sampler) => string): Promise<void> {
  const sampler = new Sampler(opts);
  const metrics = new ObserveMetrics();
  try {
    const first = sampler.sample();
    process.stdout.write(
      `${label}: ${describe(sampler)}; ${first.snapshot.napis.length} NAPI, ${first.snapshot.cpus.length} CPUs\n`,
    );
    const sample = await measure(() => {
      sampler.sample();
    });
    const scrape = await measure(async () => {
      metrics.update(sampler.sample(), 0);
      await metrics.metrics();
    });
    process.stdout.write(`  ${line("sample (napilab top, per refresh)", sample)}\n`);
    process.stdout.write(`  ${line("scrape (napilab exporter, per GET /metrics)", scrape)}\n`);
  } finally {
    sampler.close();
  }
}

process.stdout.write(`observe cost: median of ${runs} runs x ${samples} samples, CPU time of this process\n`);
await bench("this host", {}, () => "live /proc and netdev netlink of napilab's own namespace");
const dir = mkdtempSync(`${tmpdir()}/napilab-observe-bench-`);
try {
  writeSyntheticTree(dir, { cpus: 64, napis: 64, devices: 4, tick: 1 });
  await bench("synthetic", { procRoot: dir }, () => `fixture tree ${dir}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
