/**
 * The human report of a bench run: a table that fits about 120 columns, a legend wrapped to the
 * same width, and notes printed only when a cell needs them.
 */
import type { BenchResult, Cell } from "../../bench/index.js";
import { formatRate } from "../../core/units.js";

export const REPORT_WIDTH = 120;

/** Per second over the cell's window. */
function perSecond(count: number, c: Cell): number {
  return c.elapsedNs > 0 ? (count * 1e9) / c.elapsedNs : 0;
}

function rate(v: number): string {
  return v === 0 ? "0" : formatRate(Math.round(v));
}

const HEAD = [
  "MODE",
  "SIZE",
  "FLOWS",
  "OFFER/s",
  "DELIV/s",
  "DROPS/s ring/bl/sk/rs",
  "SQZ",
  "CPU busy/si%",
  "RX/NAPI/TX%",
  "OTHER%",
] as const;
const LEFT = new Set([0, 7]);

export function cellRow(c: Cell): string[] {
  const d = c.drops;
  const pct = c.offeredPps > 0 ? `${Math.round((c.deliveredPps / c.offeredPps) * 100)}%` : "-";
  return [
    c.mode,
    String(c.size),
    String(c.flows),
    rate(c.offeredPps),
    `${rate(c.deliveredPps)} ${pct}`,
    [d.ring, d.backlog, d.socket, d.reassembly].map((x) => rate(perSecond(x, c))).join("/"),
    String(c.timeSqueeze),
    c.perCpu.map((p) => `${p.cpu}:${Math.round(p.busyPct)}/${Math.round(p.softirqPct)}`).join(" "),
    [
      Math.round(c.receivers.cpuPct),
      c.napiKthread ? Math.round(c.napiKthread.cpuPct) : "-",
      Math.round(c.sender.cpuPct),
    ].join("/"),
    String(Math.round(c.foreignPct)),
  ];
}

/** Columns separated by two spaces, numbers right-aligned, no trailing blanks. */
export function cellTable(cells: Cell[]): string {
  const rows = [HEAD.slice() as string[], ...cells.map(cellRow)];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((v, i) => (LEFT.has(i) ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Greedy word wrap to `width` columns; continuation lines are indented by `indent`. */
export function wrap(text: string, width = REPORT_WIDTH, indent = "  "): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (candidate.length > width && line !== "") {
      lines.push(line);
      line = `${indent}${word}`;
    } else line = candidate;
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}

export const LEGEND =
  "OFFER/s = datagrams sent per second; DELIV/s = datagrams received per second and % of offered; " +
  "DROPS/s = per second at the veth ring " +
  "(ring full), the backlog (netdev_max_backlog), the socket buffers, and datagrams lost in IP reassembly; " +
  "SQZ = softnet time squeezes; CPU n:busy/softirq % from /proc/stat; RX/NAPI/TX% = CPU time of the " +
  "receivers, the NAPI kthread and the sender in % of one CPU (schedstat); OTHER% = time of the measured " +
  "CPUs used by other work on the host.";

/** Notes that apply to this run only: each printed when some cell needs it. */
export function runNotes(result: BenchResult): string[] {
  const notes: string[] = [];
  const cells = result.cells;
  const disturbed = cells.filter((c) => c.foreignPct >= 10);
  if (disturbed.length > 0)
    notes.push(
      `warning: other work on this host used up to ${Math.round(Math.max(...disturbed.map((c) => c.foreignPct)))}% ` +
        `of a CPU in ${disturbed.length} of ${cells.length} cells (OTHER%); those figures are disturbed`,
    );
  for (const c of cells) {
    const failed = perSecond(c.drops.reassembly, c);
    if (c.drops.reassembly > 0 && failed >= 0.01 * Math.max(1, c.offeredPps))
      notes.push(
        `note: ${c.mode} ${c.size} B ${c.flows} flow(s): ${rate(failed)}/s IP reassembly failures ` +
          `(${rate(perSecond(c.reassembled, c))}/s reassembled): fragments were lost ` +
          `(ring ${rate(perSecond(c.drops.ring, c))}/s) and half-built datagrams filled the fragment memory ` +
          "(ipfrag_high_thresh), so whole datagrams were dropped; this is fragment loss, not the NAPI mode failing",
      );
  }
  const held = cells.filter((c) => c.generator?.wholeDatagrams);
  if (held.length > 0) {
    const sizes = [...new Set(held.map((c) => c.size))].join(", ");
    const refused = held.reduce((a, c) => a + c.generator.refusedFrames, 0);
    notes.push(
      `note: ${sizes} B datagrams are IP fragments (${held[0]?.generator.framesPerDatagram}+ frames each): the sender ` +
        `was held back while the veth ring was full (${formatRate(refused)} frames refused and sent again) ` +
        "instead of dropping fragments, so no datagram lost a fragment to its own sender",
    );
  }
  // without IRQ time accounting the scheduler charges softirq work to whatever task it interrupted:
  // that skews RECV%/SEND% only where softirq does the rx work (softirq cells)
  if (result.host.irqTimeAccounting === false && cells.some((c) => c.mode === "softirq"))
    notes.push(
      "note: this kernel has no CONFIG_IRQ_TIME_ACCOUNTING: in softirq cells, softirq work done while a " +
        "receiver or the sender ran is counted in their RX%/TX% (RX/NAPI/TX%) too",
    );
  if (!result.complete && result.error)
    notes.push(
      `note: incomplete run: ${cells.length} of ${result.plannedCells} cells measured before a cell failed`,
    );
  else if (!result.complete)
    notes.push(
      `note: incomplete run: interrupted by ${result.interruptedBy} after ${cells.length} of ${result.plannedCells} cells`,
    );
  for (const l of result.leftovers)
    notes.push(`warning: could not remove ${l}; 'napilab bench --cleanup' will retry`);
  return notes.map((n) => wrap(n));
}
