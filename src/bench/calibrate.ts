/**
 * Calibration: turn a bench result into a model cost profile for this host, then run the model
 * on the same cells and report how far its delivered rates are from the measured ones.
 *
 * What is fitted, and from what (only cells whose datagrams fit the MTU, so no fragments):
 * - the rx stack's per-datagram cost: the NAPI kthread's CPU time (threaded cells) divided by the
 *   datagrams that reached UDP (delivered + socket-buffer drops), fitted as a + b * size; the fixed
 *   part scales the default profile's stack stages (driver, GRO, IP, UDP, enqueue) together, the
 *   per-byte part becomes udpPerByteNs.
 * - the receiver's per-datagram cost: the receivers' CPU time divided by the datagrams they got,
 *   fitted the same way, giving recvSyscallNs and copyPerByteNs.
 * - the veth's fixed facts: its ptr_ring size (VETH_RING_SIZE 256), MTU 1500, no wire limit.
 * The model host is the bench's receiving CPU alone (one CPU, one rx queue), where receivers and
 * rx processing compete, as in the single-vCPU guest of the reference experiment.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { InputError } from "../core/errors.js";
import { runFlood } from "../model/flood.js";
import { CORE_FIGURES, loadProfile } from "../model/profile.js";
import type { BenchResult, Cell } from "./run.js";

/** Default profile stages that make up the rx stack's per-datagram cost (net_rx_action to sk_data_ready). */
const STACK_STAGES = ["driverRxNs", "groNs", "ipRcvNs", "udpRcvNs", "sockEnqueueNs"] as const;
/** Largest UDP payload that fits the veth's 1500-byte MTU unfragmented. */
const MAX_UNFRAGMENTED = 1472;
/** veth's ptr_ring length (drivers/net/veth.c VETH_RING_SIZE). */
const VETH_RING_SIZE = 256;
/** A cell in which other work on the host took this much of a CPU (OTHER%) is not trusted. */
const DISTURBED_PCT = 10;

function disturbed(c: Cell): boolean {
  return (c.foreignPct ?? 0) >= DISTURBED_PCT;
}

interface Point {
  size: number;
  ns: number;
  weight: number;
}

export interface LinearFit {
  fixedNs: number;
  perByteNs: number;
  points: number;
}

/** Weighted least squares of ns = a + b * size; with a single size the slope is 0. */
export function fitLinear(points: Point[]): LinearFit {
  const w = points.reduce((s, p) => s + p.weight, 0);
  if (points.length === 0 || w <= 0) throw new InputError("nothing to fit");
  const mx = points.reduce((s, p) => s + p.weight * p.size, 0) / w;
  const my = points.reduce((s, p) => s + p.weight * p.ns, 0) / w;
  const sxx = points.reduce((s, p) => s + p.weight * (p.size - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + p.weight * (p.size - mx) * (p.ns - my), 0);
  const slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  return { fixedNs: Math.max(0, my - slope * mx), perByteNs: slope, points: points.length };
}

/** Per-datagram CPU cost points of one kind of work from the usable cells. */
function points(cells: Cell[], pick: (c: Cell) => { cpuPct: number; datagrams: number } | null): Point[] {
  const out: Point[] = [];
  for (const c of cells) {
    if (c.size > MAX_UNFRAGMENTED) continue;
    const v = pick(c);
    if (!v || v.datagrams < 1000 || v.cpuPct <= 0) continue;
    out.push({ size: c.size, ns: ((v.cpuPct / 100) * c.elapsedNs) / v.datagrams, weight: v.datagrams });
  }
  return out;
}

export interface CellComparison {
  mode: string;
  size: number;
  flows: number;
  measuredPps: number;
  modelPps: number;
  errorPct: number;
  /** Other work on the host used >= 10% of a CPU during this cell; left out of the error summary. */
  disturbed: boolean;
}

export interface Calibration {
  profileName: string;
  profilePath: string;
  stack: LinearFit;
  receiver: LinearFit;
  cells: CellComparison[];
  /** No undisturbed cell could be fitted, so disturbed ones were used. */
  fitFromDisturbed: boolean;
  /** How many cells the error summary covers (the undisturbed ones, or all if every one was). */
  summarisedCells: number;
  /** Mean of |model - measured| / measured over the summarised cells, in percent. */
  meanAbsErrorPct: number;
  /** The median of the same, less swayed by a few cells far off. */
  medianAbsErrorPct: number;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f || 0; // no -0 in reports
}

/** Fit a profile from a result, save it, and compare the model against every comparable cell. */
export function calibrate(
  result: BenchResult,
  opts: { from: string; out?: string; name?: string; simDurationNs?: number },
): Calibration {
  // fit from cells no other work disturbed; only when there are none, from the disturbed ones
  const threadedAll = result.cells.filter((c) => c.mode === "threaded" || c.mode === "threaded-free");
  const pick = (cells: Cell[]) => ({
    stack: points(cells, (c) =>
      c.napiKthread ? { cpuPct: c.napiKthread.cpuPct, datagrams: c.received + c.drops.socket } : null,
    ),
    recv: points(cells, (c) => ({ cpuPct: c.receivers.cpuPct, datagrams: c.received })),
  });
  let { stack: stackPts, recv: recvPts } = pick(threadedAll.filter((c) => !disturbed(c)));
  const fitFromDisturbed = stackPts.length === 0 || recvPts.length === 0;
  if (fitFromDisturbed) ({ stack: stackPts, recv: recvPts } = pick(threadedAll));
  if (stackPts.length === 0 || recvPts.length === 0)
    throw new InputError(
      `'${opts.from}' has no threaded cell with payloads up to ${MAX_UNFRAGMENTED} bytes and traffic to fit ` +
        "(run e.g. napilab bench --quick)",
    );
  const stack = fitLinear(stackPts);
  const receiver = fitLinear(recvPts);

  const base = loadProfile("default");
  const stageSum = STACK_STAGES.reduce((s, k) => s + base.figures[k], 0);
  const scale = stageSum > 0 ? stack.fixedNs / stageSum : 1;
  const src = `napilab calibrate from ${opts.from} (bench run ${result.runId}, kernel ${result.host.kernel})`;
  const figures: Record<string, { value: number; provenance: string }> = {};
  for (const k of STACK_STAGES)
    figures[k] = {
      value: round(base.figures[k] * scale, 1),
      provenance: `${src}: NAPI kthread CPU time per datagram reaching UDP, fixed part ${round(stack.fixedNs, 1)} ns, split over the stack stages in the default profile's proportions`,
    };
  figures.udpPerByteNs = {
    value: round(stack.perByteNs, 4),
    provenance: `${src}: per-byte slope of the NAPI kthread's cost per datagram over payload sizes`,
  };
  figures.recvSyscallNs = {
    value: round(receiver.fixedNs, 1),
    provenance: `${src}: receiver threads' CPU time per datagram received (one recv(2) each, koffi call included), fixed part`,
  };
  figures.copyPerByteNs = {
    value: round(receiver.perByteNs, 4),
    provenance: `${src}: per-byte slope of the receivers' cost per datagram`,
  };
  figures.ringSize = {
    value: VETH_RING_SIZE,
    provenance: "veth ptr_ring length VETH_RING_SIZE (drivers/net/veth.c)",
  };
  figures.mtu = { value: 1500, provenance: "veth default MTU, as the bench creates it" };
  figures.wireBitsPerSecond = {
    value: 1e12,
    provenance: "veth has no wire; a limit far above any bench rate",
  };

  const name =
    opts.name ??
    `host-${hostname()
      .replace(/[^a-z0-9._-]/gi, "-")
      .toLowerCase()}-${result.runId}`;
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name)) throw new InputError(`invalid profile name '${name}'`);
  const profilePath = resolve(opts.out ?? `results/profile-${name}.json`);
  const doc = {
    name,
    description: `Fitted by napilab calibrate for ${hostname()} (kernel ${result.host.kernel}) from bench run ${result.runId}: the receiving CPU of a veth test bed.`,
    extends: "default",
    figures,
    fit: {
      from: opts.from,
      stack: { ...stack, fixedNs: round(stack.fixedNs, 1) },
      receiver: { ...receiver, fixedNs: round(receiver.fixedNs, 1) },
      onlyFiguresAbove: [...CORE_FIGURES].filter((k) => k in figures),
    },
  };
  mkdirSync(dirname(profilePath), { recursive: true });
  writeFileSync(profilePath, `${JSON.stringify(doc, null, 2)}\n`);
  const profile = loadProfile(profilePath);

  const cells: CellComparison[] = [];
  for (const c of result.cells) {
    if (c.mode === "busy-poll" || c.deliveredPps <= 0 || c.offeredPps <= 0) continue;
    const sim = runFlood({
      profile,
      cpus: 1,
      queues: 1,
      mode: c.mode === "softirq" ? "softirq" : "threaded",
      ratePps: c.offeredPps,
      size: c.size,
      flows: c.flows,
      durationNs: opts.simDurationNs ?? 200_000_000,
      receiverCpus: [0],
      napiCpus: [0],
      seed: 1,
    });
    cells.push({
      mode: c.mode,
      size: c.size,
      flows: c.flows,
      measuredPps: c.deliveredPps,
      modelPps: Math.round(sim.deliveredPps),
      errorPct: round(((sim.deliveredPps - c.deliveredPps) / c.deliveredPps) * 100, 1),
      disturbed: disturbed(c),
    });
  }
  const summarised = cells.some((c) => !c.disturbed) ? cells.filter((c) => !c.disturbed) : cells;
  const meanAbsErrorPct =
    summarised.length === 0
      ? 0
      : round(summarised.reduce((s, c) => s + Math.abs(c.errorPct), 0) / summarised.length, 1);
  const sorted = summarised.map((c) => Math.abs(c.errorPct)).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const medianAbsErrorPct =
    sorted.length === 0
      ? 0
      : round(sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2, 1);
  return {
    profileName: name,
    profilePath,
    stack,
    receiver,
    fitFromDisturbed,
    cells,
    summarisedCells: summarised.length,
    meanAbsErrorPct,
    medianAbsErrorPct,
  };
}
