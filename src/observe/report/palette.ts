/**
 * Colours with a meaning that stays the same across every chart and report: a mode, a
 * configuration or a kind of CPU time always has the same colour, all taken from Okabe & Ito's
 * colour-blind-safe palette (render.ts), with idle time in light grey.
 */
import { OKABE_ITO } from "./render.js";

const [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, YELLOW] = OKABE_ITO;
export const IDLE_GREY = "#d9d9d9";

/** NAPI modes (model and bench) and the seed's configurations. */
const NAMED: Record<string, string> = {
  softirq: VERMILLION,
  threaded: BLUE,
  "threaded-free": GREEN,
  "busy-poll": PURPLE,
  vanilla: VERMILLION,
  "guest threaded": BLUE,
  "both threaded": GREEN,
};

/** The seed's three configurations, in the seed's order, as shown in charts. */
export const SEED_CONFIG_LABELS = ["vanilla", "guest threaded", "both threaded"] as const;

/**
 * A colour scale for series names: names with a fixed colour keep it, other names take the unused
 * palette colours in order (so two runs of one mode still differ).
 */
export function seriesScale(names: readonly string[]): { domain: string[]; range: string[] } {
  const used = new Set<string>();
  const range: string[] = [];
  for (const n of names) {
    const fixed = NAMED[n];
    if (fixed && !used.has(fixed)) {
      used.add(fixed);
      range.push(fixed);
    } else range.push("");
  }
  const spare = OKABE_ITO.filter((c) => !used.has(c));
  let k = 0;
  for (let i = 0; i < range.length; i++) {
    if (range[i] === "") range[i] = spare[k++ % spare.length] as string;
  }
  return { domain: [...names], range };
}

/** Where a simulated CPU's time went, bottom of the stack first (sim flood and sweep). */
export const SIM_CPU_PARTS = [
  { key: "hardirq", label: "hardirq", colour: VERMILLION },
  { key: "softirq", label: "softirq (irq exit, bh enable)", colour: ORANGE },
  { key: "ksoftirqd", label: "ksoftirqd", colour: YELLOW },
  { key: "napiThreads", label: "NAPI threads", colour: BLUE },
  { key: "receivers", label: "receivers", colour: GREEN },
  { key: "hogs", label: "CPU hogs", colour: PURPLE },
  { key: "idle", label: "idle", colour: IDLE_GREY },
] as const;

/** Where a real CPU's time went in a bench cell (from /proc/stat and schedstat). */
export const BENCH_CPU_PARTS = [
  { key: "irq", label: "hardirq", colour: VERMILLION },
  { key: "softirq", label: "softirq", colour: ORANGE },
  { key: "ksoftirqd", label: "ksoftirqd", colour: YELLOW },
  { key: "napi", label: "NAPI kthread", colour: BLUE },
  { key: "receivers", label: "receivers", colour: GREEN },
  { key: "sender", label: "sender", colour: PURPLE },
  { key: "other", label: "other work", colour: SKY },
  { key: "idle", label: "idle", colour: IDLE_GREY },
] as const;

/** Drop places. */
export const DROP_COLOURS = { ring: BLACK, socket: ORANGE, backlog: SKY, reassembly: PURPLE } as const;
