/**
 * `sim compare`: one flood scenario run in every way Linux can run NAPI that applies to it (softirq,
 * threaded, threaded busy poll, threadirqs) times every receiver variant (blocking, non-blocking,
 * with socket busy polling, with preferred busy polling and IRQ deferral, epoll with IRQ
 * suspension), reduced to one row each: delivered rate, drops, per-CPU split and latency quantiles.
 */
import type { NapiMode } from "../../core/vocabulary.js";
import type { ReceiverKind } from "../kernel/busypoll.js";
import { type FloodOptions, type FloodResult, runFlood, validateFlood } from "./flood.js";

export const COMPARE_MODES = ["softirq", "threaded", "busy-poll", "threadirqs"] as const;
export type CompareMode = (typeof COMPARE_MODES)[number];

/** The knobs the busy-polling receivers use in a comparison (defaults after the kernel's napi.rst examples). */
export interface CompareKnobs {
  busyReadNs: number;
  deferHardIrqs: number;
  groFlushTimeoutNs: number;
  irqSuspendTimeoutNs: number;
}

export const DEFAULT_COMPARE_KNOBS: CompareKnobs = {
  busyReadNs: 50_000,
  deferHardIrqs: 2,
  groFlushTimeoutNs: 200_000,
  irqSuspendTimeoutNs: 20_000_000,
};

export interface Variant {
  /** Short label of the receiver variant, e.g. "blocking+busy-read+prefer". */
  receiver: string;
  options: Partial<FloodOptions>;
}

/** The receiver variants, each as the flood options it sets. */
export function receiverVariants(kn: CompareKnobs): Variant[] {
  const r = (receiver: ReceiverKind) => ({ receiver });
  return [
    { receiver: "blocking", options: r("blocking") },
    { receiver: "nonblocking", options: r("nonblocking") },
    { receiver: "blocking+busy-read", options: { ...r("blocking"), busyReadNs: kn.busyReadNs } },
    { receiver: "nonblocking+busy-read", options: { ...r("nonblocking"), busyReadNs: kn.busyReadNs } },
    {
      receiver: "blocking+busy-read+prefer+defer",
      options: {
        ...r("blocking"),
        busyReadNs: kn.busyReadNs,
        preferBusyPoll: true,
        deferHardIrqs: kn.deferHardIrqs,
        groFlushTimeoutNs: kn.groFlushTimeoutNs,
      },
    },
    {
      receiver: "blocking+defer (no busy poll)",
      options: { ...r("blocking"), deferHardIrqs: kn.deferHardIrqs, groFlushTimeoutNs: kn.groFlushTimeoutNs },
    },
    {
      receiver: "epoll+busy-poll+prefer+irq-suspend",
      options: {
        ...r("epoll"),
        busyReadNs: kn.busyReadNs,
        preferBusyPoll: true,
        deferHardIrqs: kn.deferHardIrqs,
        groFlushTimeoutNs: kn.groFlushTimeoutNs,
        irqSuspendTimeoutNs: kn.irqSuspendTimeoutNs,
      },
    },
  ];
}

/**
 * Whether a receiver variant applies to a mode: under threaded busy poll the napi kthread owns the
 * NAPI for good (IN_BUSY_POLL), so socket busy polling and IRQ deferral have nothing to act on.
 */
export function applies(mode: CompareMode, v: Variant): boolean {
  if (mode !== "busy-poll") return true;
  return !v.options.busyReadNs && !v.options.deferHardIrqs && !v.options.preferBusyPoll;
}

export interface CompareRow {
  mode: CompareMode;
  receiver: string;
  deliveredPps: number;
  offeredPps: number;
  drops: { ringPps: number; rcvbufPps: number; totalPps: number };
  cpu: FloodResult["cpu"];
  latency: { p50Us: number; p99Us: number; p999Us: number; samples: number };
  irqs: number;
  timerFires: number;
}

export interface CompareRun {
  mode: CompareMode;
  variant: Variant;
  options: FloodOptions;
}

/** Every (mode, receiver variant) run that applies, validated before any runs. */
export function compareRuns(
  base: FloodOptions,
  kn: CompareKnobs,
  modes: readonly CompareMode[] = COMPARE_MODES,
): CompareRun[] {
  const runs: CompareRun[] = [];
  for (const mode of modes) {
    const napiMode: NapiMode = mode === "threadirqs" ? "softirq" : mode;
    for (const v of receiverVariants(kn)) {
      if (!applies(mode, v)) continue;
      const options: FloodOptions = {
        ...base,
        mode: napiMode,
        threadirqs: mode === "threadirqs",
        ...v.options,
      };
      validateFlood(options);
      runs.push({ mode, variant: v, options });
    }
  }
  return runs;
}

/** Run one comparison row. */
export function runCompareRow(run: CompareRun): CompareRow {
  const r = runFlood(run.options);
  return {
    mode: run.mode,
    receiver: run.variant.receiver,
    deliveredPps: r.deliveredPps,
    offeredPps: r.offeredPps,
    drops: r.drops,
    cpu: r.cpu,
    latency: {
      p50Us: r.latency.p50Us,
      p99Us: r.latency.p99Us,
      p999Us: r.latency.p999Us ?? 0,
      samples: r.latency.samples,
    },
    irqs: r.napis.reduce((s, n) => s + n.irqs, 0),
    timerFires: r.modes?.napiTimers.reduce((s, n) => s + n.timerFires, 0) ?? 0,
  };
}
