/**
 * The bench report: delivered datagrams/s per mode and cell, each CPU's time split per cell, and,
 * when a calibration of the same result is given, the model's figures against the measured ones.
 */
import { parseCpuList } from "../../core/units.js";
import type { BenchDoc, CalibrationDoc } from "./inputs.js";
import { BENCH_CPU_PARTS, seriesScale } from "./palette.js";
import type { Chart } from "./render.js";
import { kpps, type Section } from "./section.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
/** The bench's own threshold (src/bench/calibrate.ts): other work took this much of a CPU. */
const DISTURBED_PCT = 10;
const CLEAN = "undisturbed";
const DISTURBED = `disturbed (other work ≥ ${DISTURBED_PCT}% CPU)`;

interface Named<T> {
  source: string;
  data: T;
}

type BenchCell = BenchDoc["cells"][number];

function cellLabel(c: { size: number; flows: number }): string {
  return `${c.size} B × ${c.flows}`;
}

/**
 * A CPU's time in the cell's window, in parts that add up to 100%. /proc/stat gives busy, softirq
 * and irq time; schedstat gives the run's own threads. Without CONFIG_IRQ_TIME_ACCOUNTING softirq
 * time is also charged to the task it interrupted, so the parts can overlap: "other work" is what
 * remains of the busy time, never below zero.
 */
function cpuParts(p: BenchCell["perCpu"][number]): Record<string, number> {
  const parts: Record<string, number> = {
    irq: p.irqPct,
    softirq: p.softirqPct,
    ksoftirqd: p.ksoftirqdPct,
    napi: p.napiKthreadPct,
    receivers: p.receiversPct,
    sender: p.senderPct,
  };
  const known = Object.values(parts).reduce((s, x) => s + x, 0);
  parts.other = Math.max(0, p.busyPct - known);
  parts.idle = Math.max(0, 100 - p.busyPct);
  return parts;
}

function modelVsMeasured(cals: Named<CalibrationDoc>[], id: string): Chart {
  const rows = cals.flatMap((c) =>
    c.data.cells.map((x) => ({
      mode: x.mode,
      cell: cellLabel(x),
      measured: kpps(x.measuredPps),
      model: kpps(x.modelPps),
      errorPct: x.errorPct,
      quality: x.disturbed ? DISTURBED : CLEAN,
    })),
  );
  const modes = [...new Set(rows.map((r) => r.mode))];
  const all = rows.flatMap((r) => [r.measured, r.model]).filter((v) => v > 0);
  const lo = Math.min(...all) / 1.5;
  const hi = Math.max(...all) * 1.5;
  const LINE = { domain: ["model = measurement"], range: [[6, 4]] };
  return {
    id,
    caption:
      "Each point is one bench cell: the rate the bench measured (horizontal) and the rate the calibrated " +
      "model predicts for it (vertical), log scales. On the dashed diagonal the model is exact; pale " +
      "diamonds are cells disturbed by other work on the host, left out of the error summary.",
    spec: {
      $schema: SCHEMA,
      title: { text: "Calibration: model against measurement", subtitle: "delivered kpps per bench cell" },
      width: 420,
      height: 360,
      layer: [
        {
          data: { values: [{ v: lo }, { v: hi }] },
          mark: { type: "line", color: "#777", strokeWidth: 1.5 },
          encoding: {
            x: { field: "v", type: "quantitative", scale: { type: "log", domain: [lo, hi], nice: false } },
            y: { field: "v", type: "quantitative", scale: { type: "log", domain: [lo, hi], nice: false } },
            strokeDash: {
              datum: "model = measurement",
              type: "nominal",
              title: "line",
              scale: LINE,
              legend: { symbolType: "stroke", symbolStrokeColor: "#555", symbolSize: 400 },
            },
          },
        },
        {
          data: { values: rows },
          mark: { type: "point", size: 110, filled: true, stroke: "white", strokeWidth: 0.5 },
          encoding: {
            x: {
              field: "measured",
              type: "quantitative",
              title: "measured (kpps, log scale)",
              scale: { type: "log", domain: [lo, hi], nice: false },
            },
            y: {
              field: "model",
              type: "quantitative",
              title: "model (kpps, log scale)",
              scale: { type: "log", domain: [lo, hi], nice: false },
            },
            color: { field: "mode", type: "nominal", title: "mode", scale: seriesScale(modes) },
            shape: {
              field: "quality",
              type: "nominal",
              title: "cell",
              scale: { domain: [CLEAN, DISTURBED], range: ["circle", "diamond"] },
            },
            opacity: {
              field: "quality",
              type: "ordinal",
              sort: [CLEAN, DISTURBED],
              title: "cell",
              scale: { domain: [CLEAN, DISTURBED], range: [1, 0.5] },
            },
          },
        },
      ],
    },
  };
}

function calibrationFacts(c: Named<CalibrationDoc>): [string, string][] {
  const d = c.data;
  return [
    ["calibration", c.source],
    ["fitted profile", `${d.profileName}${d.profilePath ? ` (${d.profilePath})` : ""}`],
    [
      "rx stack per datagram",
      `${d.stack.fixedNs.toFixed(0)} ns + ${d.stack.perByteNs.toFixed(3)} ns/byte (${d.stack.points} cells)`,
    ],
    [
      "receiver per datagram",
      `${d.receiver.fixedNs.toFixed(0)} ns + ${d.receiver.perByteNs.toFixed(3)} ns/byte (${d.receiver.points} cells)`,
    ],
    [
      "model error",
      `mean |model − measured| / measured ${d.meanAbsErrorPct}%` +
        `${d.medianAbsErrorPct === undefined ? "" : `, median ${d.medianAbsErrorPct}%`}` +
        `${d.summarisedCells === undefined ? "" : ` over ${d.summarisedCells} cells`}`,
    ],
  ];
}

function calibrationTable(cals: Named<CalibrationDoc>[]) {
  return {
    caption: "calibration: model against measurement per cell",
    head: ["mode", "size (B)", "flows", "measured (kpps)", "model (kpps)", "error (%)", "disturbed"],
    rows: cals.flatMap((c) =>
      c.data.cells.map((x) => [
        x.mode,
        x.size,
        x.flows,
        kpps(x.measuredPps),
        kpps(x.modelPps),
        x.errorPct,
        x.disturbed ? "yes" : "no",
      ]),
    ),
  };
}

export function benchSection(bench: Named<BenchDoc>, cals: Named<CalibrationDoc>[], index = 0): Section {
  const d = bench.data;
  const id = `bench-${index}`;
  const modes = [...new Set(d.cells.map((c) => c.mode))];
  const sizes = [...new Set(d.cells.map((c) => c.size))].sort((a, b) => a - b);
  const flows = [...new Set(d.cells.map((c) => c.flows))].sort((a, b) => a - b);
  const modeScale = seriesScale(modes);
  const rows = d.cells.map((c) => ({
    mode: c.mode,
    size: `${c.size} B payload`,
    flows: c.flows,
    delivered: kpps(c.deliveredPps),
    offered: kpps(c.offeredPps),
    quality: (c.foreignPct ?? 0) >= DISTURBED_PCT ? DISTURBED : CLEAN,
  }));

  // panels side by side while they fit the page (about 1000 px of plot beside the legend)
  const barWidth = Math.min(460, Math.max(180, 18 * flows.length * modes.length));
  const barColumns = Math.max(1, Math.min(sizes.length, Math.floor(1000 / (barWidth + 70))));
  const delivered: Chart = {
    id: `${id}-delivered`,
    caption:
      "Datagrams per second the receivers got, per mode, for each payload size and flow count. Pale " +
      "bars are cells in which other work on the host used a tenth of a CPU or more: their figures are disturbed.",
    spec: {
      $schema: SCHEMA,
      title: { text: "Delivered rate per mode and cell", subtitle: `measured on kernel ${d.host.kernel}` },
      data: { values: rows },
      facet: {
        field: "size",
        type: "ordinal",
        sort: sizes.map((s) => `${s} B payload`),
        title: null,
        header: { labelFontSize: 13, labelFontWeight: "bold" },
      },
      columns: barColumns,
      resolve: { scale: { y: "independent" } },
      spec: {
        width: barWidth,
        height: 220,
        mark: { type: "bar" },
        encoding: {
          x: {
            field: "flows",
            type: "ordinal",
            sort: flows,
            title: "flows (count)",
            axis: { labelAngle: 0 },
          },
          xOffset: { field: "mode", type: "nominal", sort: modes },
          y: { field: "delivered", type: "quantitative", title: "delivered (kpps)" },
          color: { field: "mode", type: "nominal", title: "mode", scale: modeScale },
          opacity: {
            field: "quality",
            type: "ordinal",
            sort: [CLEAN, DISTURBED],
            title: "cell",
            scale: { domain: [CLEAN, DISTURBED], range: [1, 0.35] },
          },
        },
      },
    },
  };

  const partScale = {
    domain: BENCH_CPU_PARTS.map((p) => p.label),
    range: BENCH_CPU_PARTS.map((p) => p.colour),
  };
  const rx = d.options.rxCpus;
  const tx = d.options.txCpus;
  const cpuRole = (cpu: number) =>
    `CPU ${cpu}${rangeHas(rx, cpu) ? " (receivers)" : ""}${rangeHas(tx, cpu) ? " (sender)" : ""}`;
  const cellOrder = d.cells
    .map((c) => ({ size: c.size, flows: c.flows }))
    .sort((a, b) => a.size - b.size || a.flows - b.flows)
    .map(cellLabel);
  const split = d.cells.flatMap((c) =>
    c.perCpu.flatMap((p) => {
      const parts = cpuParts(p);
      return BENCH_CPU_PARTS.map((part, order) => ({
        mode: c.mode,
        cell: cellLabel(c),
        cpu: cpuRole(p.cpu),
        part: part.label,
        order,
        pct: Math.round((parts[part.key] as number) * 10) / 10,
      }));
    }),
  );
  const cpus = [...new Set(split.map((s) => s.cpu))];
  const stacks = new Map<string, number>();
  for (const x of split) {
    const key = `${x.mode}|${x.cell}|${x.cpu}`;
    stacks.set(key, (stacks.get(key) ?? 0) + x.pct);
  }
  const maxStack = Math.ceil(Math.max(0, ...stacks.values()));
  const cellsPerMode = new Set(cellOrder).size;
  const perCpu: Chart = {
    id: `${id}-cpu`,
    caption:
      "Each measured CPU's time per cell (size × flows), per mode: hardirq and softirq from /proc/stat, " +
      "the run's threads from schedstat, other work is the rest of the busy time. Without " +
      "CONFIG_IRQ_TIME_ACCOUNTING softirq time is also counted in the thread it interrupted.",
    spec: {
      $schema: SCHEMA,
      title: { text: "CPU time split per CPU, mode and cell", subtitle: "share of each CPU's time (%)" },
      data: { values: split },
      // a row per mode, a column per CPU: each panel has room for a bar and a label per cell
      facet: {
        row: {
          field: "mode",
          type: "nominal",
          sort: modes,
          title: null,
          header: { labelFontSize: 13, labelFontWeight: "bold", labelAngle: 0, labelAlign: "left" },
        },
        column: {
          field: "cpu",
          type: "nominal",
          sort: cpus,
          title: null,
          header: { labelFontSize: 12, labelFontWeight: "bold" },
        },
      },
      spec: {
        width: Math.max(160, Math.min(880 / cpus.length - 60, 26 * cellsPerMode)),
        height: 140,
        mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
        encoding: {
          x: {
            field: "cell",
            type: "ordinal",
            sort: [...new Set(cellOrder)],
            title: "payload × flows",
            axis: { labelAngle: cellsPerMode <= 2 ? 0 : cellsPerMode <= 6 ? -45 : -90 },
          },
          y: {
            field: "pct",
            type: "quantitative",
            stack: "zero",
            title: "CPU time (%)",
            // parts can overlap (see the caption): let a bar above 100% show it rather than clip it
            scale: { domain: [0, Math.max(100, maxStack)] },
          },
          color: { field: "part", type: "nominal", title: "CPU time in", scale: partScale },
          order: { field: "order", type: "quantitative" },
        },
      },
    },
  };

  const charts = [delivered, perCpu];
  const facts: [string, string][] = [
    ["input", bench.source],
    ["kernel", d.host.kernel],
    ["run", `${d.runId}, started ${d.startedAt}`],
    [
      "placement",
      `receivers on CPU ${d.options.rxCpus}, sender on CPU ${d.options.txCpus}, ${d.options.durationNs / 1e9} s per cell`,
    ],
  ];
  const tables = [
    {
      caption: "bench cells",
      head: ["mode", "size (B)", "flows", "offered (kpps)", "delivered (kpps)", "other work (% CPU)"],
      rows: d.cells.map((c) => [
        c.mode,
        c.size,
        c.flows,
        kpps(c.offeredPps),
        kpps(c.deliveredPps),
        c.foreignPct ?? "–",
      ]),
    },
  ];
  if (cals.length > 0) {
    charts.push(modelVsMeasured(cals, `${id}-calibration`));
    for (const c of cals) facts.push(...calibrationFacts(c));
    tables.push(calibrationTable(cals));
  }
  const disturbed = d.cells.filter((c) => (c.foreignPct ?? 0) >= DISTURBED_PCT).length;
  return {
    id,
    title: `napilab bench on ${d.host.kernel}${cals.length ? ", with its calibration" : ""}`,
    facts,
    notes:
      disturbed > 0
        ? [
            `Other work on the host used ${DISTURBED_PCT}% of a CPU or more in ${disturbed} of ${d.cells.length} cells: their figures are disturbed.`,
          ]
        : [],
    charts,
    tables,
  };
}

export function calibrationSection(cal: Named<CalibrationDoc>, index = 0): Section {
  return {
    id: `calibration-${index}`,
    title: `Calibration: profile ${cal.data.profileName}`,
    facts: calibrationFacts(cal),
    notes: cal.data.fitFromDisturbed
      ? ["Every usable cell was disturbed by other work on the host: the fit is too."]
      : [],
    charts: [modelVsMeasured([cal], `calibration-${index}-model`)],
    tables: [calibrationTable([cal])],
  };
}

/** Whether a kernel CPU list ("0-3,6") contains a CPU; false for a list that does not parse. */
function rangeHas(list: string, cpu: number): boolean {
  try {
    return parseCpuList(list).includes(cpu);
  } catch {
    return false;
  }
}
