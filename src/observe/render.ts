/**
 * The text of a `napilab top` screen, as plain lines (no terminal codes): per-NAPI rows, per-CPU
 * rows, devices, then the diagnoses. Pure, so tests can check a screen without a terminal.
 */
import { formatCpuList, formatRate } from "../core/units.js";
import type { Diagnosis } from "./diagnose.js";
import type { NapiView, View } from "./rates.js";

export const SORT_KEYS = {
  c: { name: "CPU%", by: (n: NapiView) => -(n.cpuPct ?? -1) },
  w: { name: "WAIT%", by: (n: NapiView) => -(n.waitPct ?? -1) },
  p: { name: "PPS", by: (n: NapiView) => -(n.pps ?? -1) },
  n: { name: "NAME", by: (_n: NapiView) => 0 },
} as const;
export type SortKey = keyof typeof SORT_KEYS;

export function sortNapis(list: NapiView[], key: SortKey): NapiView[] {
  const byName = (a: NapiView, b: NapiView) => a.ifname.localeCompare(b.ifname) || a.id - b.id;
  const f = SORT_KEYS[key].by;
  return [...list].sort((a, b) => f(a) - f(b) || byName(a, b));
}

const pct = (v: number | null) => (v === null ? "-" : v.toFixed(1));
const rate = (v: number | null) => (v === null ? "-" : formatRate(Math.round(v)));

/** Align columns: the first `left` columns to the left, the rest to the right. */
export function columns(rows: string[][], left: number): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows.map((row) =>
    row
      .map((c, i) => (i < left ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

export interface RenderOptions {
  sort: SortKey;
  /** Limit of NAPI rows (the rest are summarised in one line); undefined = all. */
  maxNapiRows?: number;
}

export function napiLines(view: View, o: RenderOptions): string[] {
  const list = sortNapis(view.napis, o.sort);
  const shown = o.maxNapiRows === undefined ? list : list.slice(0, Math.max(0, o.maxNapiRows));
  const rows = [
    [
      "DEVICE",
      "NAPI",
      "RXQ",
      "MODE",
      "PID",
      "THREAD",
      "POLICY",
      "CPU",
      "ALLOWED",
      "CPU%",
      "WAIT%",
      "SW/S",
      "PPS",
    ],
    ...shown.map((n) => [
      n.ifname,
      String(n.id),
      n.rxQueues.length ? formatCpuList(n.rxQueues) : "-",
      n.mode,
      n.pid === null ? "-" : String(n.pid),
      n.kthread ?? "-",
      n.policy ?? "-",
      n.cpu === null ? "-" : String(n.cpu),
      n.cpusAllowed ? formatCpuList(n.cpusAllowed) : "-",
      pct(n.cpuPct),
      pct(n.waitPct),
      rate(n.switchesPerSec),
      rate(n.pps),
    ]),
  ];
  const lines = columns(rows, 7);
  if (shown.length < list.length) lines.push(`... ${list.length - shown.length} more NAPI instances`);
  if (list.length === 0)
    lines.push(
      view.notes.length > 0
        ? view.notes.join("; ")
        : "(no NAPI instances: is GRO on for veth, or is --netns right?)",
    );
  return lines;
}

export function cpuLines(view: View): string[] {
  return columns(
    [
      [
        "CPU",
        "BUSY%",
        "SOFTIRQ%",
        "IRQ%",
        "KSOFTIRQD%",
        "NAPI%",
        "NET_RX/S",
        "PKTS/S",
        "DROPS/S",
        "SQUEEZE/S",
        "BACKLOG",
      ],
      ...view.cpus.map((c) => [
        String(c.cpu),
        pct(c.busyPct),
        pct(c.softirqPct),
        pct(c.irqPct),
        pct(c.ksoftirqdPct),
        pct(c.napiPct),
        rate(c.netRxPerSec),
        rate(c.processedPerSec),
        rate(c.dropsPerSec),
        rate(c.squeezesPerSec),
        c.backlogLen === null ? "-" : String(c.backlogLen),
      ]),
    ],
    1,
  );
}

export function deviceLines(view: View): string[] {
  const rows = [
    ["DEVICE", "RX PPS", "RX BYTES/S", "RX DROPS/S"],
    ...view.devices.map((d) => [d.ifname, rate(d.rxPps), rate(d.rxBytesPerSec), rate(d.rxDropsPerSec)]),
  ];
  const lines = columns(rows, 1);
  if (view.udp)
    lines.push(
      `UDP RcvbufErrors/s ${rate(view.udp.rcvbufErrorsPerSec)}  InErrors/s ${rate(view.udp.inErrorsPerSec)}`,
    );
  return lines;
}

/** Word-wrap `text` to `width` columns, continuation lines indented by `indent`. */
export function wrap(text: string, width: number | undefined, indent = "  "): string[] {
  if (width === undefined || width <= indent.length + 10 || text.length <= width) return [text];
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line === "" ? word : `${line} ${word}`;
    if (next.length > width && line !== "" && line !== indent.trimEnd()) {
      out.push(line);
      line = `${indent}${word}`;
    } else line = next;
  }
  if (line !== "") out.push(line);
  return out;
}

export function diagnosisLines(diagnoses: Diagnosis[], width?: number): string[] {
  if (diagnoses.length === 0) return ["no diagnosis: nothing stands out"];
  return diagnoses.flatMap((d) => wrap(`! ${d.message}`, width));
}

/** A whole screen; `height` (rows) limits the NAPI table so CPUs and diagnoses stay visible. */
export function renderScreen(
  view: View,
  diagnoses: Diagnosis[],
  o: RenderOptions & { title?: string; height?: number; width?: number },
): string[] {
  const cpus = cpuLines(view);
  const devices = deviceLines(view);
  const diag = diagnosisLines(diagnoses, o.width);
  const fixed = (o.title ? 2 : 0) + cpus.length + devices.length + diag.length + 6;
  const maxNapiRows = o.height === undefined ? o.maxNapiRows : Math.max(1, o.height - fixed);
  return [
    ...(o.title ? [o.title, ""] : []),
    ...napiLines(view, { sort: o.sort, maxNapiRows }),
    "",
    ...cpus,
    "",
    ...devices,
    "",
    "DIAGNOSES",
    ...diag,
  ];
}
