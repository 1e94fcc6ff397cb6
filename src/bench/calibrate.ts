/**
 * Calibration: fit this host's profile from a bench result, then predict cells from the model alone.
 *
 * The model host is the bench's own path (src/model/scenarios/bench-host.ts): the sender task, the veth pair,
 * RPS and the backlog, the NAPI kthread, the receivers. Nothing measured about a cell's traffic is
 * fed to it: its sender floods (or paces to the bench's --rate) and the model decides how much is
 * offered, dropped and delivered.
 *
 * Method (deterministic, rerunnable: `napilab calibrate --from RESULT ...` again gives the same
 * profile; `npm run fit:veth-host` refits the shipped profiles/veth-host.json). Only the cells not
 * held out are used, and of those only payloads that fit the MTU. Every figure is held within
 * [prior / 4, prior x 4] of the veth-host-prior profile's reasoned prior (per-byte figures within
 * [0, 4 x prior]); a figure that hit a bound says so.
 * 1. Stage costs from CPU time per datagram (schedstat run time x window / datagrams), fitted as
 *    a + b * size by weighted least squares:
 *    - sender, threaded cells with the fewest flows: less the sendmmsg calls (one per batch, one
 *      more per frame veth dropped with the AF_PACKET generator) and, without IRQ time accounting,
 *      the deferred frees run in its context, a gives sendPerDatagramNs, b sendPerByteNs;
 *    - NAPI kthread, threaded cells, per datagram reaching UDP (delivered + socket drops): a scales
 *      the stack stages (vethRxNs, groNs, ipRcvNs, udpRcvNs, sockEnqueueNs) together in the prior's
 *      proportions, b gives udpPerByteNs;
 *    - receivers, threaded cells with the fewest flows (a receiver that never sleeps: no
 *      context-switch cost folded in): recvSyscallNs and copyPerByteNs;
 *    - softirq cells: the tx CPU's NET_RX time per datagram run at the sender's BH enables
 *      (veth_poll, GRO, RPS, IPIs sent, deferred frees) less the known parts gives rpsEnqueueNs; the
 *      rx CPU's busy time less the receivers' recv() and the IPIs gives backlogPerSkbNs.
 * 2. The RPS IPI's delivery latency (ipiLatencyNs): bisection on a log scale so that the model's
 *    backlog kicks per datagram match the bench's received_rps per datagram in the undisturbed
 *    softirq cells. Other work: a cell the bench marked disturbed (OTHER% >= 10) gets the other work
 *    measured on each CPU replayed (or --background N always-runnable tasks per CPU instead).
 * 3. What no task's CPU time isolates (skbFreeNs) and the two figures step 1 derived by
 *    subtraction (rpsEnqueueNs, backlogPerSkbNs): a coordinate search (x0.5, x2, x0.71, x1.41, two
 *    rounds) on J = delivered-pps MAPE + mean |CPU split error| (points, parts measured as times)
 *    over the undisturbed fitted cells.
 * 4. Prediction: every cell (fitted and held out) is simulated with the fitted profile; errors are
 *    reported for both sets, and the CPU split (softirq, hardirq, sender, receivers, NAPI kthread,
 *    ksoftirqd on the rx and tx CPUs) in percentage points, also without the tick-sampled parts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { InputError } from "../core/errors.js";
import { parseCpuList } from "../core/units.js";
import { type Figures, loadProfile, type Profile } from "../model/profile.js";
import {
  BENCH_HOST_MODES,
  type BenchHostMode,
  runBenchCell,
  type SimCell,
} from "../model/scenarios/bench-host.js";
import type { BenchResult, Cell } from "./run.js";

/** Largest UDP payload that fits the veth's 1500-byte MTU unfragmented. */
const MAX_UNFRAGMENTED = 1472;
/** A cell in which other work on the host took this much of a CPU (OTHER%) is marked disturbed. */
const DISTURBED_PCT = 10;
/** The profile the fit starts from and is bounded by. */
const PRIOR_PROFILE = "veth-host-prior";
/** Fitted stage costs stay within [prior / BOUND, prior * BOUND]. */
const BOUND = 4;
/** Figures refined against whole cells (step 3): what no task's CPU time isolates. */
const REFINED = ["skbFreeNs", "rpsEnqueueNs", "backlogPerSkbNs"] as const;
/** The stages of the rx stack that the NAPI kthread's cost per datagram scales together. */
const STACK_STAGES = ["vethRxNs", "groNs", "ipRcvNs", "udpRcvNs", "sockEnqueueNs"] as const;

interface Point {
  size: number;
  ns: number;
  weight: number;
}

export interface LinearFit {
  fixedNs: number;
  perByteNs: number;
  points: number;
  /** All points had one size: the slope is not measured, it is the prior's (or 0 without one). */
  slopeFromPrior?: boolean;
}

/**
 * Weighted least squares of ns = a + b * size. With a single size the slope cannot be measured: it
 * is `priorSlope` (0 if none is given) and the fixed part is what is left of the mean.
 */
export function fitLinear(points: Point[], priorSlope?: number): LinearFit {
  const w = points.reduce((s, p) => s + p.weight, 0);
  if (points.length === 0 || w <= 0) throw new InputError("nothing to fit");
  const mx = points.reduce((s, p) => s + p.weight * p.size, 0) / w;
  const my = points.reduce((s, p) => s + p.weight * p.ns, 0) / w;
  const sxx = points.reduce((s, p) => s + p.weight * (p.size - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + p.weight * (p.size - mx) * (p.ns - my), 0);
  const slope = sxx > 0 ? Math.max(0, sxy / sxx) : (priorSlope ?? 0);
  return {
    fixedNs: Math.max(0, my - slope * mx),
    perByteNs: slope,
    points: points.length,
    ...(sxx > 0 || priorSlope === undefined ? {} : { slopeFromPrior: true }),
  };
}

/** Per-datagram CPU cost points of one kind of work. */
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

/** One CPU-split component of one CPU: measured and modelled share, percent of that CPU. */
export interface SplitPoint {
  cpu: number;
  part: "softirq" | "hardirq" | "sender" | "receivers" | "napiKthread" | "ksoftirqd";
  measured: number;
  model: number;
  /**
   * The measured share is /proc/stat's tick sample, not a time: without IRQ time accounting a tick
   * is charged whole to the context it is taken in (account_process_tick), and on this project's VM
   * a tick due while an IPI is on its way to the CPU is taken right after it, in the softirq its
   * irq_exit starts (the rx CPU's softirq reads 88-97% where ftrace measures 12-33% softirq time).
   * The model reports the same sample (Cpu.tickSoftirqNs); the flag lets the summary leave these
   * parts out. Softirq and hardirq shares on such a host.
   */
  tickSampled: boolean;
}

export interface CellComparison {
  mode: string;
  size: number;
  flows: number;
  measuredPps: number;
  modelPps: number;
  errorPct: number;
  measuredOfferedPps: number;
  modelOfferedPps: number;
  /** Where the model loses datagrams, per second: veth ring, backlog, socket buffers. */
  modelDropsPps: { ring: number; backlog: number; socket: number };
  measuredDropsPps: { ring: number; backlog: number; socket: number };
  /** Other work on the host used >= 10% of a CPU during this cell (summed over the rx and tx CPUs). */
  disturbed: boolean;
  /** That other work, percent of a CPU, recomputed per CPU from the bench's busy and task times. */
  otherPct: number;
  heldOut: boolean;
  cpuSplit: SplitPoint[];
  /** The largest |model - measured| of the CPU split, in percentage points. */
  cpuSplitMaxPoints: number;
  /** The same over the parts measured as times (schedstat run times; softirq only with IRQ time accounting). */
  cpuSplitTimedMaxPoints: number;
}

export interface ErrorSummary {
  cells: CellComparison[];
  /** Mean of |model - measured| / measured delivered pps, percent. */
  mapePercent: number;
  medianAbsErrorPct: number;
  /** CPU split: mean and largest |model - measured| over the components, percentage points. */
  cpuSplitMeanPoints: number;
  cpuSplitMaxPoints: number;
  /** The same over the parts measured as times, not tick samples (see SplitPoint.tickSampled). */
  cpuSplitTimedMeanPoints: number;
  cpuSplitTimedMaxPoints: number;
}

export interface FittedFigure {
  value: number;
  prior: number;
  /** Where the fit wanted it, before the bounds. */
  raw: number;
  /** The fit hit a bound. */
  bounded: boolean;
}

export interface Calibration {
  method: string;
  profileName: string;
  profilePath: string;
  figures: Record<string, FittedFigure>;
  stack: LinearFit;
  receiver: LinearFit;
  sender: LinearFit;
  background: { tasksPerCpu: number; fitted: boolean; tried: { tasksPerCpu: number; mapePercent: number }[] };
  /** How disturbed cells' other work is modelled: the bench's measured per-CPU share replayed, or --background tasks. */
  otherWork: "measured" | "background";
  /** The IPI delivery latency search: each try and the model's kicks per datagram over the measured. */
  ipiLatency: { ipiLatencyNs: number; kickRatio: number }[];
  /** The refinement's tries: figures, objective (MAPE % + split points), and its two parts. */
  refine: { figures: Record<string, number>; objective: number; mapePercent: number; splitPoints: number }[];
  fit: ErrorSummary & { sizes: number[]; flows: number[] };
  holdout: ErrorSummary & { sizes: number[]; flows: number[] };
  /** Every compared cell (fitted and held out), for the table. */
  cells: CellComparison[];
  meanAbsErrorPct: number;
  medianAbsErrorPct: number;
  summarisedCells: number;
  fitFromDisturbed: boolean;
  simDurationNs: number;
}

export interface CalibrateOptions {
  from: string;
  out?: string;
  name?: string;
  simDurationNs?: number;
  holdoutSizes?: number[];
  holdoutFlows?: number[];
  /** Background tasks per CPU; undefined: fitted when the cells were disturbed, else 0. */
  background?: number;
  /** Cap on the simulations of the background search (each simulates every fitted cell). */
  maxEvaluations?: number;
  /** Refine the figures no CPU time isolates against whole cells (default true). */
  refine?: boolean;
  onProgress?: (what: string) => void;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f || 0; // no -0 in reports
}

/**
 * The other work the bench measured on each CPU during a cell, percent of that CPU: its busy time
 * less ksoftirqd and the bench's own tasks there (whose schedstat, without IRQ time accounting,
 * holds the softirqs that ran while they were current; with it, less the softirq and irq shares).
 */
export function otherWorkOf(c: Cell, cpus: number, irqAccounted: boolean): number[] {
  const out: number[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const p = c.perCpu.find((q) => q.cpu === cpu);
    if (!p) {
      out.push(0);
      continue;
    }
    const ours = p.receiversPct + p.senderPct + p.napiKthreadPct + p.ksoftirqdPct;
    const irq = irqAccounted ? p.softirqPct + p.irqPct : 0;
    out.push(round(Math.max(0, Math.min(100, p.busyPct - ours - irq)), 1));
  }
  return out;
}

function bounded(raw: number, prior: number, perByte = false): FittedFigure {
  const lo = perByte ? 0 : prior / BOUND;
  const hi = prior * BOUND;
  const value = Math.min(hi, Math.max(lo, raw));
  return {
    value: round(value, perByte ? 4 : 1),
    prior,
    raw: round(raw, perByte ? 4 : 1),
    bounded: value !== raw,
  };
}

function isModelMode(m: string): m is BenchHostMode {
  return (BENCH_HOST_MODES as readonly string[]).includes(m);
}

function summarise(cells: CellComparison[]): ErrorSummary {
  const errs = cells.map((c) => Math.abs(c.errorPct)).sort((a, b) => a - b);
  const mid = Math.floor(errs.length / 2);
  const splits = cells.flatMap((c) => c.cpuSplit.map((p) => Math.abs(p.model - p.measured)));
  const timed = cells.flatMap((c) =>
    c.cpuSplit.filter((p) => !p.tickSampled).map((p) => Math.abs(p.model - p.measured)),
  );
  return {
    cells,
    mapePercent: errs.length === 0 ? 0 : round(errs.reduce((s, e) => s + e, 0) / errs.length, 1),
    medianAbsErrorPct:
      errs.length === 0
        ? 0
        : round(errs.length % 2 ? (errs[mid] ?? 0) : ((errs[mid - 1] ?? 0) + (errs[mid] ?? 0)) / 2, 1),
    cpuSplitMeanPoints: splits.length === 0 ? 0 : round(splits.reduce((s, e) => s + e, 0) / splits.length, 1),
    cpuSplitMaxPoints: splits.length === 0 ? 0 : round(Math.max(...splits), 1),
    cpuSplitTimedMeanPoints:
      timed.length === 0 ? 0 : round(timed.reduce((s, e) => s + e, 0) / timed.length, 1),
    cpuSplitTimedMaxPoints: timed.length === 0 ? 0 : round(Math.max(...timed), 1),
  };
}

/** The CPU split of a measured cell against its simulation, on the rx and tx CPUs. */
function compareSplit(c: Cell, m: SimCell, cpus: number[], tickSampled: boolean): SplitPoint[] {
  const out: SplitPoint[] = [];
  for (const cpu of cpus) {
    const a = c.perCpu.find((p) => p.cpu === cpu);
    const b = m.perCpu.find((p) => p.cpu === cpu);
    if (!a || !b) continue;
    const parts: [SplitPoint["part"], number, number][] = [
      ["softirq", a.softirqPct, b.softirqPct],
      ["hardirq", a.irqPct, b.irqPct],
      ["sender", a.senderPct, b.senderPct],
      ["receivers", a.receiversPct, b.receiversPct],
      ["napiKthread", a.napiKthreadPct, b.napiKthreadPct],
      ["ksoftirqd", a.ksoftirqdPct, b.ksoftirqdPct],
    ];
    for (const [part, measured, model] of parts)
      out.push({
        cpu,
        part,
        measured,
        model,
        tickSampled: tickSampled && (part === "softirq" || part === "hardirq"),
      });
  }
  return out;
}

/** Fit a profile from a result, save it, and predict the held-out cells from the model alone. */
export function calibrate(result: BenchResult, opts: CalibrateOptions): Calibration {
  if (result.options.receiver)
    throw new InputError(
      `'${opts.from}' was measured with ${result.options.receiver} receivers; the model mirrors the bench's blocking recv() receivers only`,
    );
  const holdSizes = opts.holdoutSizes ?? [];
  const holdFlows = opts.holdoutFlows ?? [];
  const simDurationNs = opts.simDurationNs ?? 100_000_000;
  const rxCpus = parseCpuList(result.options.rxCpus);
  const txCpus = parseCpuList(result.options.txCpus);
  const hostCpus = Math.max(...rxCpus, ...txCpus) + 1;
  const measuredCpus = [...new Set([...rxCpus, ...txCpus])];
  // other work in a cell, summed over the rx and tx CPUs, recomputed per CPU (the figure the replay
  // uses): results saved before the bench's OTHER% knew about IRQ time accounting subtract softirq
  // time that is already inside the tasks' schedstat and read 0 where other work did use the CPUs
  const otherPct = (c: Cell) => {
    const w = otherWorkOf(c, hostCpus, result.host.irqTimeAccounting !== false);
    return measuredCpus.reduce((s, cpu) => s + (w[cpu] ?? 0), 0);
  };
  const disturbed = (c: Cell) => otherPct(c) >= DISTURBED_PCT;
  const usable = result.cells.filter((c) => isModelMode(c.mode) && c.mode !== "busy-poll" && c.elapsedNs > 0);
  const heldOut = (c: Cell) => holdSizes.includes(c.size) || holdFlows.includes(c.flows);
  for (const s of holdSizes)
    if (!usable.some((c) => c.size === s))
      throw new InputError(`--holdout-sizes: the result has no cell of size ${s}`);
  for (const fl of holdFlows)
    if (!usable.some((c) => c.flows === fl))
      throw new InputError(`--holdout-flows: the result has no cell with ${fl} flows`);
  const fitCells = usable.filter((c) => !heldOut(c));
  const testCells = usable.filter(heldOut);
  if (fitCells.length === 0)
    throw new InputError("every cell is held out: keep at least one size and flow count to fit on");

  // ---- 1. stage costs from CPU time per datagram ----
  const threaded = fitCells.filter((c) => c.mode === "threaded" || c.mode === "threaded-free");
  const calm = threaded.filter((c) => !disturbed(c));
  const fitFromDisturbed = calm.length === 0;
  const basis = fitFromDisturbed ? threaded : calm;
  const minFlows = Math.min(...basis.map((c) => c.flows));
  const prior = loadProfile(PRIOR_PROFILE);
  const p = prior.figures as Required<Figures>;
  const batch = result.options.batch;
  // results from before the AF_PACKET generator have no options.sender: their sender was a UDP socket
  const packet = result.options.sender === "packet";
  // without IRQ time accounting a task's schedstat holds the softirqs and interrupts that ran while
  // it was current: the sender's holds the NET_RX its BH enables run (exact), while /proc/stat's
  // softirq share is tick-sampled
  const viaSender = result.host.irqTimeAccounting === false;
  const msgsPerCall = (fl: number) => Math.ceil(batch / fl) * fl;
  // sendmmsg calls per datagram: one per batch, and with the AF_PACKET generator one more per frame
  // veth dropped (packet_snd returns -ENOBUFS and the bench calls again for the rest)
  const callsPer = (c: Cell) => 1 / msgsPerCall(c.flows) + (packet && c.sent > 0 ? c.drops.ring / c.sent : 0);
  // skb_attempt_defer_free: each datagram read on the rx CPU is freed on the sender's CPU, in the
  // NET_RX a kick IPI raises there every skb_defer_max/2 + 1 skbs (threaded), or in the NET_RX the
  // sender runs anyway (softirq); without IRQ time accounting that time is in the sender's schedstat
  const kickEvery = Math.floor(p.skbDeferMax / 2) + 1;
  const deferOnTx = (c: Cell, kicks: boolean) =>
    viaSender && c.sent > 0 && p.skbDeferMax > 0
      ? (c.received / c.sent) * (p.skbFreeNs + (kicks ? p.ipiNs / kickEvery : 0))
      : 0;
  const senderPts = points(
    basis.filter((c) => c.flows === minFlows),
    (c) =>
      c.sent > 0
        ? {
            cpuPct:
              c.sender.cpuPct -
              (100 * c.sent * (p.sendmmsgCallNs * callsPer(c) + deferOnTx(c, true))) / c.elapsedNs,
            datagrams: c.sent,
          }
        : null,
  );
  const stackPts = points(basis, (c) =>
    c.napiKthread ? { cpuPct: c.napiKthread.cpuPct, datagrams: c.received + c.drops.socket } : null,
  );
  const recvPts = points(
    basis.filter((c) => c.flows === minFlows),
    (c) => ({ cpuPct: c.receivers.cpuPct, datagrams: c.received }),
  );
  if (senderPts.length === 0 || stackPts.length === 0 || recvPts.length === 0)
    throw new InputError(
      `'${opts.from}' has no fitted threaded cell with payloads up to ${MAX_UNFRAGMENTED} bytes and traffic ` +
        "(calibrate needs threaded cells; hold out fewer cells, or run napilab bench --modes softirq,threaded)",
    );
  // one size only (e.g. the others held out or disturbed): the per-byte costs stay at their priors
  const sender = fitLinear(senderPts, p.sendPerByteNs);
  const stack = fitLinear(stackPts, p.udpPerByteNs);
  const receiver = fitLinear(recvPts, p.copyPerByteNs);

  const figures: Record<string, FittedFigure> = {};
  figures.sendPerDatagramNs = bounded(sender.fixedNs, p.sendPerDatagramNs);
  figures.sendPerByteNs = bounded(sender.perByteNs, p.sendPerByteNs, true);
  const stageSum = STACK_STAGES.reduce((s, k) => s + p[k], 0);
  const scale = stack.fixedNs / stageSum;
  for (const k of STACK_STAGES) figures[k] = bounded(p[k] * scale, p[k]);
  figures.udpPerByteNs = bounded(stack.perByteNs, p.udpPerByteNs, true);
  figures.recvSyscallNs = bounded(receiver.fixedNs, p.recvSyscallNs);
  figures.copyPerByteNs = bounded(receiver.perByteNs, p.copyPerByteNs, true);
  // softirq cells: the tx CPU's NET_RX time per datagram (veth_poll, GRO, the RPS enqueue, the IPIs
  // sent and the deferred frees), run at the sender's BH enables
  const softirqCells = fitCells.filter(
    (c) => c.mode === "softirq" && c.size <= MAX_UNFRAGMENTED && c.sent > 1000,
  );
  const txSoftirq = (c: Cell) =>
    txCpus.reduce((s, cpu) => s + (c.perCpu.find((p) => p.cpu === cpu)?.softirqPct ?? 0), 0);
  const fv = (k: string) => figures[k]?.value ?? 0;
  // with IRQ time accounting the tx CPU's softirq time in threaded cells is the deferred frees'
  // (and other work's): per datagram read, an estimate of skbFreeNs
  const deferPct = (c: Cell, free: number) => (100 * c.received * free) / Math.max(1, c.elapsedNs);
  if (!viaSender && p.skbDeferMax > 0) {
    const calmThreaded = basis.filter((c) => c.received > 1000);
    const got = calmThreaded.reduce((s, c) => s + c.received, 0);
    if (got > 0) {
      const ns = calmThreaded.reduce((s, c) => s + (txSoftirq(c) / 100) * c.elapsedNs, 0) / got;
      figures.skbFreeNs = bounded(ns, p.skbFreeNs);
    }
  }
  if (softirqCells.length > 0) {
    // other work's softirqs on the tx CPU: its level in threaded cells beyond the deferred frees
    const freeNs = fv("skbFreeNs") || p.skbFreeNs;
    const baseline =
      threaded.length > 0
        ? threaded.reduce((s, c) => s + Math.max(0, txSoftirq(c) - deferPct(c, freeNs)), 0) / threaded.length
        : 0;
    let w = 0;
    let acc = 0;
    for (const c of softirqCells) {
      const own = p.sendmmsgCallNs * callsPer(c) + fv("sendPerDatagramNs") + fv("sendPerByteNs") * c.size;
      const perDgram = viaSender
        ? ((c.sender.cpuPct / 100) * c.elapsedNs) / c.sent - own - deferOnTx(c, false)
        : ((Math.max(0, txSoftirq(c) - baseline - deferPct(c, freeNs)) / 100) * c.elapsedNs) / c.sent;
      const ipis = c.rpsReceived / c.sent;
      const rest = perDgram - p.napiPollNs - fv("vethRxNs") - fv("groNs") - ipis * p.ipiSendNs;
      acc += rest * c.sent;
      w += c.sent;
    }
    figures.rpsEnqueueNs = bounded(acc / w, p.rpsEnqueueNs);
    // the rx CPU's softirq time per datagram through process_backlog (delivered + socket drops),
    // above its threaded-cell level, less the stack stages: the cross-CPU hand-off per skb
    const rxSoftirq = (c: Cell) =>
      rxCpus.reduce((s, cpu) => s + (c.perCpu.find((q) => q.cpu === cpu)?.softirqPct ?? 0), 0);
    const rxBase = threaded.length > 0 ? threaded.reduce((s, c) => s + rxSoftirq(c), 0) / threaded.length : 0;
    let w2 = 0;
    let acc2 = 0;
    // without IRQ time accounting the softirq share is a tick sample, not a time (on this VM the rx
    // CPU's ticks are taken after the RPS IPIs, in NET_RX); there, take the rx CPU's busy time less
    // what the receivers' recv() calls cost
    const rxBusy = (c: Cell) =>
      rxCpus.reduce((s, cpu) => s + (c.perCpu.find((q) => q.cpu === cpu)?.busyPct ?? 0), 0);
    for (const c of softirqCells) {
      const n = c.received + c.drops.socket;
      if (n < 1000 || disturbed(c)) continue;
      const recvNs = (fv("recvSyscallNs") + fv("copyPerByteNs") * c.size) * c.received;
      const ipiNs = c.rpsReceived * p.ipiNs;
      const perDgram = viaSender
        ? ((rxBusy(c) / 100) * c.elapsedNs - recvNs - ipiNs) / n
        : ((Math.max(0, rxSoftirq(c) - rxBase) / 100) * c.elapsedNs) / n;
      const stackNs = fv("ipRcvNs") + fv("udpRcvNs") + fv("sockEnqueueNs") + fv("udpPerByteNs") * c.size;
      acc2 += (perDgram - stackNs) * n;
      w2 += n;
    }
    if (w2 > 0) figures.backlogPerSkbNs = bounded(acc2 / w2, p.backlogPerSkbNs);
  }

  const name =
    opts.name ??
    `host-${hostname()
      .replace(/[^a-z0-9._-]/gi, "-")
      .toLowerCase()}-${result.runId}`;
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name)) throw new InputError(`invalid profile name '${name}'`);
  const profilePath = resolve(opts.out ?? `results/profile-${name}.json`);
  const src = `napilab calibrate from ${opts.from} (bench run ${result.runId}, kernel ${result.host.kernel})`;
  const why: Record<string, string> = {
    sendPerDatagramNs:
      "sender run time per datagram in threaded cells with the fewest flows, fixed part, less the sendmmsg calls' share (one per batch, one more per frame veth dropped with the AF_PACKET generator) and the deferred frees run in its context",
    sendPerByteNs: sender.slopeFromPrior
      ? "the veth-host-prior's figure (the fitted cells had one size: no slope to measure)"
      : "per-byte slope of the sender's run time per datagram",
    udpPerByteNs: stack.slopeFromPrior
      ? "the veth-host-prior's figure (the fitted cells had one size: no slope to measure)"
      : "per-byte slope of the NAPI kthread's run time per datagram reaching UDP",
    recvSyscallNs: `receivers' run time per datagram received in threaded cells with ${minFlows} flow(s), fixed part`,
    copyPerByteNs: receiver.slopeFromPrior
      ? "the veth-host-prior's figure (the fitted cells had one size: no slope to measure)"
      : "per-byte slope of the receivers' run time per datagram",
    rpsEnqueueNs:
      "softirq cells: NET_RX time per datagram on the tx CPU (the sender's run time beyond its own cost without IRQ time accounting, else the softirq share above the threaded cells' level), less veth_poll and GRO",
    skbFreeNs: viaSender
      ? "the veth-host-prior's reasoned estimate (without IRQ time accounting no CPU time isolates the deferred frees)"
      : "the tx CPU's softirq time per datagram read in threaded cells (the deferred frees)",
    backlogPerSkbNs:
      "undisturbed softirq cells: the rx CPU's time per datagram into the backlog (its busy time less the receivers' recv() cost without IRQ time accounting, else its softirq share above the threaded cells' level), less the stack stages",
  };
  for (const k of STACK_STAGES)
    why[k] =
      `NAPI kthread run time per datagram reaching UDP, fixed part ${round(stack.fixedNs, 1)} ns, ` +
      "split over the stack stages in the veth-host-prior proportions";
  const fileFigures: Record<string, { value: number; provenance: string }> = {};
  for (const [k, v] of Object.entries(figures))
    fileFigures[k] = {
      value: v.value,
      provenance: `${src}: ${why[k] ?? k}${v.bounded ? ` (wanted ${v.raw}, held within the prior's bounds)` : ""}`,
    };
  // the veth's fixed facts, for `sim flood` users of this profile (the bench mirror uses vethRingSize)
  fileFigures.ringSize = {
    value: 256,
    provenance: "veth ptr_ring length VETH_RING_SIZE (drivers/net/veth.c)",
  };
  if (result.host.irqTimeAccounting !== null)
    fileFigures.irqTimeAccounting = {
      value: result.host.irqTimeAccounting ? 1 : 0,
      provenance: `${src}: the kernel's CONFIG_IRQ_TIME_ACCOUNTING as the bench read it`,
    };
  const writeProfile = (background: number, tried: { tasksPerCpu: number; mapePercent: number }[]) => {
    const doc = {
      name,
      description: `Fitted by napilab calibrate for ${hostname()} (kernel ${result.host.kernel}) from bench run ${result.runId}: napilab bench's own path (sender, veth, RPS, receivers).`,
      extends: PRIOR_PROFILE,
      figures: fileFigures,
      fit: {
        from: opts.from,
        method:
          "CPU time per datagram (a + b*size) per stage; the IPI latency searched on the RPS kicks per datagram; skbFreeNs, rpsEnqueueNs and backlogPerSkbNs refined on the undisturbed fitted cells' delivered-pps MAPE + CPU split; all bounded to [prior/4, prior*4] of veth-host-prior; disturbed cells' measured other work replayed",
        heldOut: { sizes: holdSizes, flows: holdFlows },
        fittedCells: fitCells.length,
        sender,
        stack,
        receiver,
        background: { tasksPerCpu: background, tried },
      },
    };
    mkdirSync(dirname(profilePath), { recursive: true });
    writeFileSync(profilePath, `${JSON.stringify(doc, null, 2)}\n`);
    return loadProfile(profilePath);
  };
  let profile = writeProfile(0, []);

  // ---- 2. other work on the host, and the IPI's delivery latency ----
  const cpus = Math.max(...rxCpus, ...txCpus) + 1;
  // other work is a property of the moment a cell was measured: a cell the bench saw undisturbed
  // (OTHER% < 10) is simulated on a quiet host; a disturbed one gets the other work the bench
  // measured on each CPU replayed (or, with --background N, N always-runnable tasks per CPU)
  const background = opts.background ?? 0;
  const replay = opts.background === undefined;
  const simulate = (prof: Profile, c: Cell): SimCell =>
    runBenchCell({
      profile: prof,
      mode: c.mode as BenchHostMode,
      size: c.size,
      flows: c.flows,
      rxCpus,
      txCpus,
      cpus,
      batch,
      generator: packet ? "packet" : "udp",
      ratePps: result.options.ratePps,
      durationNs: simDurationNs,
      background: disturbed(c) && !replay ? background : 0,
      ...(disturbed(c) && replay ? { otherWork: otherWorkOf(c, cpus, !viaSender) } : {}),
      seed: 1,
    });
  // the RPS IPI's delivery latency: searched (bisection on a log scale, within the prior's bounds)
  // so that the model's backlog kicks per datagram match the bench's received_rps per datagram in
  // the undisturbed softirq cells; a late IPI lets the backlog fill, so one kick serves many skbs
  const ipiCells = fitCells.filter(
    (c) => c.mode === "softirq" && !disturbed(c) && c.rpsReceived > 0 && c.sent > 1000,
  );
  const latencyTried: { ipiLatencyNs: number; kickRatio: number }[] = [];
  if (ipiCells.length > 0) {
    const maxEval = opts.maxEvaluations ?? 16;
    const kickRatio = (d: number) => {
      const prof = { ...profile, figures: { ...profile.figures, ipiLatencyNs: d } };
      let acc = 0;
      for (const c of ipiCells) {
        const m = simulate(prof, c);
        const model = (m.rpsReceived + 1) / Math.max(1, m.sent);
        const meas = c.rpsReceived / c.sent;
        acc += Math.log(model / meas);
      }
      const r = Math.exp(acc / ipiCells.length);
      latencyTried.push({ ipiLatencyNs: d, kickRatio: round(r, 3) });
      opts.onProgress?.(`IPI latency ${Math.round(d)} ns: kicks per datagram x${r.toFixed(2)} the measured`);
      return r;
    };
    let lo = Math.log(p.ipiLatencyNs / BOUND);
    let hi = Math.log(p.ipiLatencyNs * BOUND);
    let best = p.ipiLatencyNs;
    if (kickRatio(Math.exp(hi)) > 1) best = Math.exp(hi);
    else if (kickRatio(Math.exp(lo)) < 1) best = Math.exp(lo);
    else
      while (latencyTried.length < Math.min(maxEval, 10)) {
        const mid = (lo + hi) / 2;
        best = Math.exp(mid);
        const r = kickRatio(best);
        if (Math.abs(Math.log(r)) < 0.03) break; // within 3% of the measured kicks
        if (r > 1) lo = mid;
        else hi = mid;
      }
    const raw = Math.round(best);
    figures.ipiLatencyNs = bounded(raw, p.ipiLatencyNs);
    // a search that ended on a bound with the kicks still off wanted to go further
    const last = latencyTried.find((t) => Math.round(t.ipiLatencyNs) === raw)?.kickRatio ?? 1;
    if (
      (raw >= Math.round(p.ipiLatencyNs * BOUND) && last > 1.03) ||
      (raw <= Math.round(p.ipiLatencyNs / BOUND) && last < 0.97)
    )
      figures.ipiLatencyNs.bounded = true;
    fileFigures.ipiLatencyNs = {
      value: figures.ipiLatencyNs.value,
      provenance: `${src}: searched so that the model's RPS backlog kicks per datagram match the bench's received_rps per datagram in the undisturbed softirq cells (${latencyTried.length} tries)`,
    };
  }
  // ---- 3. the costs no CPU time isolates, against the whole of the undisturbed fitted cells ----
  // skbFreeNs (the deferred frees on the sender's CPU: only their sum with other NET_RX work shows)
  // and the two figures step 1 derived by subtraction (rpsEnqueueNs, backlogPerSkbNs) are refined by
  // a coordinate search within the prior's bounds on J = delivered-pps MAPE (%) + mean |CPU split
  // error| (points) over the undisturbed fitted cells, simulated from the model alone
  const refineCells = fitCells.filter((c) => !disturbed(c) && c.deliveredPps > 0);
  const refineTried: {
    figures: Record<string, number>;
    objective: number;
    mapePercent: number;
    splitPoints: number;
  }[] = [];
  const splitCpus = [...new Set([...rxCpus, ...txCpus])];
  const objective = (over: Record<string, number>) => {
    const key = JSON.stringify(over);
    const hit = refineTried.find((t) => JSON.stringify(t.figures) === key);
    if (hit) return hit.objective;
    const prof = { ...profile, figures: { ...profile.figures, ...over } };
    let mape = 0;
    let split = 0;
    let parts = 0;
    for (const c of refineCells) {
      const m = simulate(prof, c);
      mape += Math.abs(m.deliveredPps - c.deliveredPps) / c.deliveredPps;
      for (const q of compareSplit(c, m, splitCpus, viaSender)) {
        if (q.tickSampled) continue;
        split += Math.abs(q.model - q.measured);
        parts++;
      }
    }
    const mp = (100 * mape) / refineCells.length;
    const sp = parts > 0 ? split / parts : 0;
    refineTried.push({
      figures: { ...over },
      objective: round(mp + sp, 2),
      mapePercent: round(mp, 1),
      splitPoints: round(sp, 2),
    });
    opts.onProgress?.(
      `refine ${JSON.stringify(over)}: MAPE ${mp.toFixed(1)}%, CPU split ${sp.toFixed(1)} points`,
    );
    return round(mp + sp, 2);
  };
  if (refineCells.length > 0 && opts.refine !== false) {
    const maxEval = opts.maxEvaluations ?? 16;
    const cur: Record<string, number> = {};
    for (const k of REFINED) cur[k] = figures[k]?.value ?? p[k];
    let best = objective(cur);
    const steps = [0.5, 2, 0.71, 1.41];
    for (let round_ = 0; round_ < 2; round_++)
      for (const k of REFINED)
        for (const f of steps) {
          if (refineTried.length >= 1 + maxEval * 2) break;
          const lo = p[k] / BOUND;
          const hi = p[k] * BOUND;
          const v = Math.round(Math.min(hi, Math.max(lo, (cur[k] as number) * f)));
          if (v === cur[k]) continue;
          const j = objective({ ...cur, [k]: v });
          if (j < best) {
            best = j;
            cur[k] = v;
          }
        }
    for (const k of REFINED) {
      const v = cur[k] as number;
      const before = figures[k];
      figures[k] = { ...bounded(v, p[k]), raw: before?.raw ?? v };
      fileFigures[k] = {
        value: figures[k].value,
        provenance: `${src}: ${why[k] ?? k}; then refined by a coordinate search on the undisturbed fitted cells' delivered-pps MAPE + CPU split error (${refineTried.length} tries)`,
      };
    }
    profile = { ...profile, figures: { ...profile.figures, ...cur } };
  }
  const tried: { tasksPerCpu: number; mapePercent: number }[] = [];
  profile = writeProfile(background, tried);

  // ---- 3. prediction of every cell ----
  const compare = (c: Cell, held: boolean): CellComparison => {
    opts.onProgress?.(`${held ? "predict" : "check"} ${c.mode} ${c.size}B ${c.flows} flow(s)`);
    const m = simulate(profile, c);
    const secs = c.elapsedNs / 1e9;
    const msecs = m.elapsedNs / 1e9;
    const split = compareSplit(c, m, [...new Set([...rxCpus, ...txCpus])], viaSender);
    return {
      mode: c.mode,
      size: c.size,
      flows: c.flows,
      measuredPps: c.deliveredPps,
      modelPps: m.deliveredPps,
      errorPct: c.deliveredPps > 0 ? round(((m.deliveredPps - c.deliveredPps) / c.deliveredPps) * 100, 1) : 0,
      measuredOfferedPps: c.offeredPps,
      modelOfferedPps: m.offeredPps,
      modelDropsPps: {
        ring: Math.round(m.drops.ring / msecs),
        backlog: Math.round(m.drops.backlog / msecs),
        socket: Math.round(m.drops.socket / msecs),
      },
      measuredDropsPps: {
        ring: Math.round(c.drops.ring / secs),
        backlog: Math.round(c.drops.backlog / secs),
        socket: Math.round(c.drops.socket / secs),
      },
      disturbed: disturbed(c),
      otherPct: round(otherPct(c), 1),
      heldOut: held,
      cpuSplit: split,
      cpuSplitMaxPoints: round(Math.max(0, ...split.map((s) => Math.abs(s.model - s.measured))), 1),
      cpuSplitTimedMaxPoints: round(
        Math.max(0, ...split.filter((s) => !s.tickSampled).map((s) => Math.abs(s.model - s.measured))),
        1,
      ),
    };
  };
  const fitCmp = fitCells.filter((c) => c.deliveredPps > 0).map((c) => compare(c, false));
  const testCmp = testCells.filter((c) => c.deliveredPps > 0).map((c) => compare(c, true));
  const all = [...fitCmp, ...testCmp];
  const allSum = summarise(all);
  const sizesOf = (cs: Cell[]) => [...new Set(cs.map((c) => c.size))];
  const flowsOf = (cs: Cell[]) => [...new Set(cs.map((c) => c.flows))];
  return {
    method:
      "stage costs from CPU time per datagram on the fitted cells, bounded to [prior/4, prior*4] of the veth-host profile; " +
      "background tasks per CPU searched on the fitted cells' delivered-pps MAPE; held-out cells predicted by the model alone",
    profileName: name,
    profilePath,
    figures,
    stack,
    receiver,
    sender,
    background: { tasksPerCpu: background, fitted: false, tried },
    otherWork: replay ? "measured" : "background",
    refine: refineTried,
    ipiLatency: latencyTried,
    fit: { ...summarise(fitCmp), sizes: sizesOf(fitCells), flows: flowsOf(fitCells) },
    holdout: { ...summarise(testCmp), sizes: sizesOf(testCells), flows: flowsOf(testCells) },
    cells: all,
    meanAbsErrorPct: allSum.mapePercent,
    medianAbsErrorPct: allSum.medianAbsErrorPct,
    summarisedCells: all.length,
    fitFromDisturbed,
    simDurationNs,
  };
}
