/**
 * Reproduce the seed's table: run every (size, flows, configuration) cell of the seed experiment,
 * in parallel over worker threads, and compare with the seed's figures where it gives them.
 */
import { cpus } from "node:os";
import { Worker } from "node:worker_threads";
import type { Profile } from "../profile.js";
import { runSeedCell, SEED_CONFIGS, type SeedCellResult, type SeedConfig } from "./seed.js";
import { seedFigure } from "./seed-table.js";
import type { WorkerJob } from "./seed-worker.js";

export interface TableOptions {
  profile: Profile;
  sizes: number[];
  flows: number[];
  durationNs?: number;
  warmupNs?: number;
  seed?: number;
  /** Worker threads (default: one per CPU core; 0 runs in this thread). */
  jobs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface TableRow {
  size: number;
  flows: number;
  vanilla: number;
  guestThreaded: number;
  bothThreaded: number;
  /** The seed's figures for this row, when the brief lists it. */
  seed?: Record<SeedConfig, number>;
  /** Signed relative error per configuration (model/seed - 1), when the seed gives a figure. */
  error?: Record<SeedConfig, number>;
  cells: Record<SeedConfig, SeedCellResult>;
}

export interface TableResult {
  rows: TableRow[];
  /** Mean absolute percentage error over the cells the seed gives, overall and per configuration. */
  mape: {
    overall: number | null;
    vanilla: number | null;
    guestThreaded: number | null;
    bothThreaded: number | null;
  };
  cellsCompared: number;
  wallMs: number;
}

type Cell = Omit<import("./seed.js").SeedCellOptions, "profile">;

/** Run cells over a pool of worker threads (or inline when jobs is 0). */
export async function runSeedCells(
  profile: Profile,
  cells: Cell[],
  jobs: number,
  onDone?: (done: number) => void,
): Promise<SeedCellResult[]> {
  const results: SeedCellResult[] = new Array(cells.length);
  if (jobs <= 0) {
    cells.forEach((c, i) => {
      results[i] = runSeedCell({ ...c, profile });
      onDone?.(i + 1);
    });
    return results;
  }
  const here = import.meta.url;
  const fromSource = here.endsWith(".ts");
  const workerUrl = new URL(fromSource ? "./seed-worker.ts" : "./seed-worker.js", here);
  const n = Math.max(1, Math.min(jobs, cells.length));
  // from source (tests, scripts under tsx) the worker registers tsx's loader before importing
  const bootstrap = `(async () => { const { register } = await import("tsx/esm/api"); register(); await import(${JSON.stringify(workerUrl.href)}); })();`;
  const workers = Array.from({ length: n }, () =>
    fromSource ? new Worker(bootstrap, { eval: true }) : new Worker(workerUrl),
  );
  // biggest cells first so the pool finishes evenly
  const order = cells.map((_, i) => i).sort((a, b) => weight(cells[b] as Cell) - weight(cells[a] as Cell));
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker) => {
        if (next >= order.length) return;
        const id = order[next++] as number;
        const job: WorkerJob = { id, profile, cell: cells[id] as Cell };
        w.postMessage(job);
      };
      for (const w of workers) {
        w.on("message", (m: { id: number; result?: SeedCellResult; error?: string }) => {
          if (m.error !== undefined) {
            reject(new Error(m.error));
            return;
          }
          results[m.id] = m.result as SeedCellResult;
          done++;
          onDone?.(done);
          if (done === cells.length) resolve();
          else feed(w);
        });
        w.on("error", reject);
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

function weight(c: Cell): number {
  return c.flows + (c.size < 1500 ? 100 : 0);
}

/** Run the table and compare with the seed. */
export async function reproduceTable(o: TableOptions): Promise<TableResult> {
  const t0 = performance.now();
  const cells: Cell[] = [];
  for (const size of o.sizes)
    for (const flows of o.flows)
      for (const config of SEED_CONFIGS)
        cells.push({ size, flows, config, durationNs: o.durationNs, warmupNs: o.warmupNs, seed: o.seed });
  const jobs = o.jobs ?? cpus().length;
  const results = await runSeedCells(o.profile, cells, jobs, (d) => o.onProgress?.(d, cells.length));
  const rows: TableRow[] = [];
  const errs: Record<SeedConfig, number[]> = { vanilla: [], guestThreaded: [], bothThreaded: [] };
  for (const size of o.sizes) {
    for (const flows of o.flows) {
      const get = (config: SeedConfig) =>
        results.find((r) => r.size === size && r.flows === flows && r.config === config) as SeedCellResult;
      const cellsOf = {
        vanilla: get("vanilla"),
        guestThreaded: get("guestThreaded"),
        bothThreaded: get("bothThreaded"),
      };
      const row: TableRow = {
        size,
        flows,
        vanilla: cellsOf.vanilla.kpps,
        guestThreaded: cellsOf.guestThreaded.kpps,
        bothThreaded: cellsOf.bothThreaded.kpps,
        cells: cellsOf,
      };
      const sv = seedFigure(size, flows, "vanilla");
      if (sv !== undefined) {
        const seed = {
          vanilla: sv,
          guestThreaded: seedFigure(size, flows, "guestThreaded") as number,
          bothThreaded: seedFigure(size, flows, "bothThreaded") as number,
        };
        row.seed = seed;
        row.error = { vanilla: 0, guestThreaded: 0, bothThreaded: 0 };
        for (const c of SEED_CONFIGS) {
          const e = row[c] / seed[c] - 1;
          row.error[c] = Math.round(e * 1000) / 1000;
          errs[c].push(Math.abs(e));
        }
      }
      rows.push(row);
    }
  }
  const mean = (xs: number[]) =>
    xs.length ? Math.round((1000 * xs.reduce((s, x) => s + x, 0)) / xs.length) / 10 : null;
  const all = [...errs.vanilla, ...errs.guestThreaded, ...errs.bothThreaded];
  return {
    rows,
    mape: {
      overall: mean(all),
      vanilla: mean(errs.vanilla),
      guestThreaded: mean(errs.guestThreaded),
      bothThreaded: mean(errs.bothThreaded),
    },
    cellsCompared: all.length,
    wallMs: Math.round(performance.now() - t0),
  };
}

/** kpps as printed in tables and trend details: whole numbers, one decimal below 100. */
export function formatKpps(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export interface TrendCheck {
  name: string;
  holds: boolean;
  detail: string;
}

/** The qualitative shape the seed's table shows, checked on the model's rows. */
export function trendChecks(rows: TableRow[], lineRateKpps: (size: number) => number): TrendCheck[] {
  const checks: TrendCheck[] = [];
  const small = rows.filter((r) => r.size <= 256);
  const one = small.filter((r) => r.flows === 1);
  const many = small.filter((r) => r.flows >= 25);
  const avg = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  if (one.length && many.length) {
    const a = avg(one.map((r) => r.vanilla));
    const b = avg(many.map((r) => r.vanilla));
    checks.push({
      name: "vanilla collapses as flows grow (payloads <= 256)",
      holds: b < 0.8 * a,
      detail: `1 flow ${formatKpps(a)} kpps, 25+ flows ${formatKpps(b)} kpps on average`,
    });
  }
  if (many.length) {
    const v = avg(many.map((r) => r.vanilla));
    const g = avg(many.map((r) => r.guestThreaded));
    const t = avg(many.map((r) => r.bothThreaded));
    checks.push({
      name: "guest threading recovers most of it",
      holds: g > 1.3 * v,
      detail: `vanilla ${formatKpps(v)}, guest threaded ${formatKpps(g)} kpps (25+ flows, payloads <= 256)`,
    });
    checks.push({
      name: "both threaded is best",
      holds: t >= g,
      detail: `both threaded ${formatKpps(t)} vs guest threaded ${formatKpps(g)} kpps`,
    });
  }
  const big = rows.filter((r) => r.size >= 4096);
  if (big.length) {
    const worst = Math.max(...big.map((r) => r.bothThreaded / lineRateKpps(r.size)));
    const near = avg(big.map((r) => r.bothThreaded / lineRateKpps(r.size)));
    checks.push({
      name: "line rate caps large payloads",
      // a 50 ms window can catch a few datagrams queued before it, hence the 3% tolerance
      holds: worst <= 1.03 && near > 0.6,
      detail: `both threaded at ${Math.round(near * 100)}% of line rate on average, never above ${Math.round(worst * 100)}%`,
    });
  }
  return checks;
}
