/**
 * `npm run bench:observe`: what observing costs. Prints the CPU time (user + system, from
 * process.cpuUsage) of one sample (what `napilab top` does per refresh) and of one scrape (a
 * sample plus the Prometheus text, what `napilab exporter` does per GET /metrics), on this host's
 * own namespace and on a synthetic /proc tree of 64 NAPI instances and 64 CPUs. Target: under 0.5%
 * of one CPU at a 1 s interval, i.e. under 5 ms of CPU per sample or scrape.
 *
 * Each figure is the median of OBSERVE_BENCH_RUNS runs (default 3) of OBSERVE_BENCH_SAMPLES samples
 * (default 200) after a warm-up, with the range of the runs beside it.
 *
 * Then, end to end (skip with OBSERVE_BENCH_E2E=0; needs `npm run build`): the built `napilab
 * exporter` scraped once a second by fetch, and `napilab top --interval 1s` writing to a pipe, each
 * for OBSERVE_BENCH_E2E_S seconds (default 20) after a 5 s warm-up, with the CPU time of the whole
 * process (HTTP, Node's own timers and GC included) read from its /proc/<pid>/schedstat.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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

/** ns on CPU of a process so far: the sum of its threads' schedstat run time. */
function processCpuNs(pid: number): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`))
    sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
  return sum;
}

async function endToEnd(): Promise<void> {
  const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
  if (!existsSync(cli)) {
    process.stdout.write("end to end: skipped (run npm run build first)\n");
    return;
  }
  const seconds = Math.max(5, Number(process.env.OBSERVE_BENCH_E2E_S ?? 20));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const report = (what: string, cpuNs: number) =>
    process.stdout.write(
      `  ${what.padEnd(44)} ${(cpuNs / seconds / 1e6).toFixed(3).padStart(7)} ms CPU per second = ${((cpuNs / (seconds * 1e9)) * 100).toFixed(3)}% of one CPU\n`,
    );
  process.stdout.write(`end to end, whole process, ${seconds} s after a 5 s warm-up, this host:\n`);
  // exporter, scraped every second
  const ex = spawn(process.execPath, [cli, "exporter", "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = "";
      ex.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /serving (http:\/\/[^/]+)\/metrics/.exec(err);
        if (m) resolve(m[1] as string);
      });
      ex.on("exit", () => reject(new Error(`exporter exited: ${err}`)));
    });
    for (let i = 0; i < 5; i++) {
      await (await fetch(`${url}/metrics`)).text();
      await sleep(1000);
    }
    const t0 = processCpuNs(ex.pid as number);
    for (let i = 0; i < seconds; i++) {
      await (await fetch(`${url}/metrics`)).text();
      await sleep(1000);
    }
    report("napilab exporter, one scrape a second", processCpuNs(ex.pid as number) - t0);
  } finally {
    ex.kill("SIGTERM");
  }
  // top, refreshing every second into a pipe
  const top = spawn(process.execPath, [cli, "top", "--interval", "1s", "-n", String(seconds + 10)], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    top.stdout.resume();
    await sleep(5000);
    const t0 = processCpuNs(top.pid as number);
    await sleep(seconds * 1000);
    report("napilab top --interval 1s", processCpuNs(top.pid as number) - t0);
  } finally {
    top.kill("SIGTERM");
  }
}

if (process.env.OBSERVE_BENCH_E2E !== "0") await endToEnd();
