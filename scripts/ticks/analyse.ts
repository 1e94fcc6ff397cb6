/**
 * Reads an ftrace text dump (scripts/ticks/trace-cell.sh) and prints, per CPU, what /proc/stat's tick
 * sample is made of: the time between softirq_entry and softirq_exit, the share of ticks
 * (hrtimer_expire_entry of tick_nohz_handler) taken in softirq context (the 'H' hardirq-in-softirq
 * flag, i.e. in_serving_softirq() as account_system_time sees it), the share taken right after an
 * IPI's handler, and the IPIs' delay from ipi_send_cpu to their handler.
 * Usage: npx tsx scripts/ticks/analyse.ts TRACE.txt
 */
import { readFileSync } from "node:fs";

const LINE = /^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S{5})\s+([\d.]+):\s+(\w+):(.*)$/;
const IPI_ENTRY = new Set(["call_function_single_entry", "call_function_entry", "reschedule_entry"]);
const IPI_EXIT = new Set(["call_function_single_exit", "call_function_exit", "reschedule_exit"]);

interface PerCpu {
  first: number;
  last: number;
  softirqStart: number | null;
  softirqUs: number;
  ticks: number;
  inSoftirq: number;
  inTracedSoftirq: number;
  afterIpi: number;
  idle: number;
  lastIpiExit: number;
  lastEvent: string;
  pendingSends: number[];
  delays: number[];
}

const file = process.argv[2];
if (!file) {
  console.error("usage: analyse.ts TRACE.txt");
  process.exit(2);
}
const cpus = new Map<number, PerCpu>();
const at = (c: number): PerCpu => {
  let p = cpus.get(c);
  if (!p) {
    p = {
      first: Number.NaN,
      last: 0,
      softirqStart: null,
      softirqUs: 0,
      ticks: 0,
      inSoftirq: 0,
      inTracedSoftirq: 0,
      afterIpi: 0,
      idle: 0,
      lastIpiExit: -1,
      lastEvent: "",
      pendingSends: [],
      delays: [],
    };
    cpus.set(c, p);
  }
  return p;
};
for (const line of readFileSync(file, "utf8").split("\n")) {
  const m = LINE.exec(line);
  if (!m) continue;
  const [, comm, , cpuS, flags, ts, ev, rest] = m as unknown as string[];
  const cpu = Number(cpuS);
  const t = Number(ts) * 1e6; // us
  const p = at(cpu);
  if (Number.isNaN(p.first)) p.first = t;
  p.last = t;
  if (ev === "softirq_entry") p.softirqStart = t;
  else if (ev === "softirq_exit" && p.softirqStart !== null) {
    p.softirqUs += t - p.softirqStart;
    p.softirqStart = null;
  } else if (ev === "ipi_send_cpu") {
    const to = /cpu=(\d+)/.exec(rest ?? "");
    if (to && Number(to[1]) !== cpu) at(Number(to[1])).pendingSends.push(t);
  } else if (ev && IPI_ENTRY.has(ev)) {
    for (const s of p.pendingSends) p.delays.push(t - s);
    p.pendingSends = [];
  } else if (ev && IPI_EXIT.has(ev)) p.lastIpiExit = t;
  else if (ev === "hrtimer_expire_entry" && rest?.includes("tick_nohz_handler")) {
    p.ticks++;
    if (flags?.[2] === "H") p.inSoftirq++;
    if (p.softirqStart !== null) p.inTracedSoftirq++;
    if (comm === "<idle>") p.idle++;
    if (p.lastEvent.endsWith("_exit") && p.lastEvent !== "softirq_exit" && t - p.lastIpiExit < 15)
      p.afterIpi++;
  }
  if (ev && ev !== "local_timer_entry" && ev !== "hrtimer_expire_entry") p.lastEvent = ev;
}
const pct = (a: number, b: number) => (b > 0 ? ((100 * a) / b).toFixed(1) : "-");
const q = (a: number[], f: number) => a[Math.floor(f * (a.length - 1))]?.toFixed(0) ?? "-";
for (const [cpu, p] of [...cpus].sort((a, b) => a[0] - b[0])) {
  const span = p.last - p.first;
  const d = p.delays.sort((a, b) => a - b);
  console.log(
    `cpu${cpu}: ${(span / 1e6).toFixed(3)} s; softirq time ${pct(p.softirqUs, span)}%; ticks ${p.ticks}: ` +
      `in softirq ${pct(p.inSoftirq, p.ticks)}% (inside a traced softirq ${pct(p.inTracedSoftirq, p.ticks)}%, ` +
      `right after an IPI ${pct(p.afterIpi, p.ticks)}%), idle ${pct(p.idle, p.ticks)}%; ` +
      `IPIs received ${d.length} (${(d.length / (span / 1e6)).toFixed(0)}/s), send-to-handler p10/p50/p90 ` +
      `${q(d, 0.1)}/${q(d, 0.5)}/${q(d, 0.9)} us, on their way ${pct(
        d.reduce((s, x) => s + x, 0),
        span,
      )}% of the time`,
  );
}
