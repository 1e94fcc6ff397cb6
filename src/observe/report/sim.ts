/**
 * The model's `sim flood` reports. A sweep (one or more, e.g. one per mode): delivered against
 * offered (the receive-livelock curve), drops by place and the CPU split at each offered rate. Single
 * runs: the per-CPU stacked time split and the wire-to-recv() latency distribution.
 */
import type { TopLevelSpec } from "vega-lite";
import type { FloodDoc, SweepDoc } from "./inputs.js";
import { DROP_COLOURS, SIM_CPU_PARTS, seriesScale } from "./palette.js";
import type { Chart } from "./render.js";
import { kpps, type Section } from "./section.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** A Vega-Lite spec with one 300x200 panel per run (three to a row), each drawn by `panel`. */
function panelPerRun(
  names: string[],
  title: { text: string; subtitle: string },
  values: object[],
  panel: { mark: object; encoding: object },
): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: {
      field: "run",
      type: "nominal",
      sort: names,
      title: null,
      header: { labelFontSize: 13, labelFontWeight: "bold" },
    },
    columns: 3,
    spec: { width: 300, height: 200, ...panel },
  } as TopLevelSpec; // the panel's mark and encoding are checked where the chart is rendered
}

interface Named<T> {
  source: string;
  data: T;
}

type FloodConfig = FloodDoc["config"];

/** A short name for a run: its mode, then what tells it apart from the others when modes repeat. */
function labels(configs: FloodConfig[], sources: string[]): string[] {
  const base = configs.map((c) => c.mode);
  const detail = configs.map(
    (c) => `${c.mode}, ${c.cpus} CPU${c.cpus > 1 ? "s" : ""}, ${c.flows} flow${c.flows > 1 ? "s" : ""}`,
  );
  const unique = (xs: string[]) => new Set(xs).size === xs.length;
  if (unique(base)) return base;
  if (unique(detail)) return detail;
  return detail.map((d, i) => `${d} (${sources[i]})`);
}

function describe(c: FloodConfig): string {
  return (
    `${c.cpus} CPU${c.cpus > 1 ? "s" : ""}, ${c.size}-byte UDP, ${c.flows} flow${c.flows > 1 ? "s" : ""}, ` +
    `profile ${c.profile}${c.softirqPolicy ? `, softirq policy ${c.softirqPolicy}` : ""}` +
    `${c.seed === undefined ? "" : `, seed ${c.seed}`}, ${c.durationNs / 1e6} ms measured`
  );
}

const partScale = {
  domain: SIM_CPU_PARTS.map((p) => p.label),
  range: SIM_CPU_PARTS.map((p) => p.colour),
};

/** Per-part shares of CPU time, averaged over the CPUs of a run, in percent. */
function meanSplit(r: FloodDoc): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of SIM_CPU_PARTS) {
    const sum = r.cpu.reduce((s, c) => s + c[p.key], 0);
    out[p.label] = Math.round((sum / r.cpu.length) * 10) / 10;
  }
  return out;
}

function rateLabel(pps: number): string {
  return pps >= 1e6 ? `${Math.round(pps / 1e4) / 100}M` : `${Math.round(pps / 100) / 10}k`;
}

export function sweepSection(sweeps: Named<SweepDoc>[], index = 0): Section {
  const firsts = sweeps.map((s) => s.data.sweep[0] as FloodDoc);
  const names = labels(
    firsts.map((f) => f.config),
    sweeps.map((s) => s.source),
  );
  const series = seriesScale(names);
  const points = sweeps.flatMap((s, i) =>
    s.data.sweep.map((r) => ({
      run: names[i] as string,
      offered: kpps(r.offeredPps),
      delivered: kpps(r.deliveredPps),
      ring: kpps(r.drops.ringPps),
      socket: kpps(r.drops.rcvbufPps),
      offeredLabel: rateLabel(r.offeredPps),
    })),
  );
  const maxOffered = Math.max(...points.map((p) => p.offered));
  const id = `sweep-${index}`;
  const LINE_KIND = {
    domain: ["simulated", "every datagram delivered"],
    range: [
      [1, 0],
      [6, 4],
    ],
  };

  const livelock: Chart = {
    id: `${id}-delivered`,
    caption:
      "Datagrams reaching the receivers against datagrams offered. On the dashed diagonal nothing is " +
      "lost; a curve that falls as the load grows is receive livelock (rx processing starves the receivers).",
    spec: {
      $schema: SCHEMA,
      title: { text: "Delivered against offered, per mode", subtitle: "the receive-livelock curve" },
      width: 560,
      height: 320,
      layer: [
        {
          data: { values: [{ x: 0 }, { x: maxOffered }] },
          mark: { type: "line", color: "#777", strokeWidth: 1.5 },
          encoding: {
            x: { field: "x", type: "quantitative" },
            y: { field: "x", type: "quantitative" },
            strokeDash: {
              datum: "every datagram delivered",
              type: "nominal",
              title: "line",
              scale: LINE_KIND,
              legend: { symbolType: "stroke", symbolStrokeColor: "#555", symbolSize: 400 },
            },
          },
        },
        {
          data: { values: points },
          mark: { type: "line", point: true },
          encoding: {
            x: { field: "offered", type: "quantitative", title: "offered (kpps, all flows)" },
            y: { field: "delivered", type: "quantitative", title: "delivered to receivers (kpps)" },
            color: { field: "run", type: "nominal", title: "NAPI mode", scale: series },
            strokeDash: { datum: "simulated", type: "nominal", scale: LINE_KIND },
          },
        },
      ],
    },
  };

  const dropPoints = points.flatMap((p) => [
    { run: p.run, offered: p.offered, place: "NIC rx ring full", kpps: p.ring },
    { run: p.run, offered: p.offered, place: "socket buffer full (RcvbufErrors)", kpps: p.socket },
  ]);
  const drops: Chart = {
    id: `${id}-drops`,
    caption:
      "Where the datagrams that were not delivered were lost: at the NIC's rx ring (nobody polled it in " +
      "time) or at a full socket receive buffer (the receiver did not read in time).",
    spec: panelPerRun(
      names,
      { text: "Drops by place", subtitle: "per mode, against the offered rate" },
      dropPoints,
      {
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "offered", type: "quantitative", title: "offered (kpps)" },
          y: { field: "kpps", type: "quantitative", title: "dropped (kpps)" },
          color: {
            field: "place",
            type: "nominal",
            title: "dropped at",
            scale: {
              domain: ["NIC rx ring full", "socket buffer full (RcvbufErrors)"],
              range: [DROP_COLOURS.ring, DROP_COLOURS.socket],
            },
          },
        },
      },
    ),
  };

  const splitRows = sweeps.flatMap((s, i) =>
    s.data.sweep.flatMap((r) => {
      const m = meanSplit(r);
      return SIM_CPU_PARTS.map((p, order) => ({
        run: names[i] as string,
        offered: rateLabel(r.offeredPps),
        offeredPps: r.offeredPps,
        part: p.label,
        order,
        pct: m[p.label] as number,
      }));
    }),
  );
  const offeredOrder = [...new Set(points.map((p) => p.offered))]
    .sort((a, b) => a - b)
    .map((k) => rateLabel(k * 1000));
  const split: Chart = {
    id: `${id}-cpu`,
    caption:
      "Where the CPU time went at each offered rate, averaged over the simulated CPUs: interrupt " +
      "handlers, softirq run at irq exit or bh enable, ksoftirqd, NAPI kthreads, the receivers, idle.",
    spec: panelPerRun(
      names,
      { text: "CPU time split", subtitle: "share of CPU time, mean over the CPUs" },
      splitRows,
      {
        mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
        encoding: {
          x: {
            field: "offered",
            type: "ordinal",
            sort: offeredOrder,
            title: "offered (datagrams/s)",
            axis: { labelAngle: 0 },
          },
          y: {
            field: "pct",
            type: "quantitative",
            stack: "zero",
            title: "CPU time (%)",
            scale: { domain: [0, 100] },
          },
          color: { field: "part", type: "nominal", title: "CPU time in", scale: partScale },
          order: { field: "order", type: "quantitative" },
        },
      },
    ),
  };

  return {
    id: `sweep-${index}`,
    title: "sim flood --sweep: delivered against offered",
    facts: sweeps.map((s, i) => [
      `${names[i]}`,
      `${s.source}: ${describe((s.data.sweep[0] as FloodDoc).config)}`,
    ]),
    notes: [],
    charts: [livelock, drops, split],
    tables: [
      {
        caption: "delivered and dropped per offered rate (kpps)",
        head: ["run", "offered", "delivered", "ring drops", "socket drops"],
        rows: points.map((p) => [p.run, p.offered, p.delivered, p.ring, p.socket]),
      },
    ],
  };
}

export function floodSection(floods: Named<FloodDoc>[], index = 0): Section {
  const names = labels(
    floods.map((f) => f.data.config),
    floods.map((f) => f.source),
  );
  const series = seriesScale(names);
  const id = `flood-${index}`;
  const cpuRows = floods.flatMap((f, i) =>
    f.data.cpu.flatMap((c) =>
      SIM_CPU_PARTS.map((p, order) => ({
        run: names[i] as string,
        cpu: `CPU ${c.cpu}`,
        part: p.label,
        order,
        pct: c[p.key],
      })),
    ),
  );
  const cpuNames = [...new Set(cpuRows.map((r) => r.cpu))];
  const perCpu: Chart = {
    id: `${id}-cpu`,
    caption:
      "Where each simulated CPU's time went during the measurement: interrupt handlers, softirq at irq " +
      "exit or bh enable, ksoftirqd, NAPI kthreads, the receivers, CPU hogs, and idle time.",
    spec: {
      $schema: SCHEMA,
      title: { text: "CPU time split per CPU", subtitle: "share of each CPU's time (%)" },
      data: { values: cpuRows },
      facet: {
        row: {
          field: "run",
          type: "nominal",
          sort: names,
          title: null,
          header: { labelFontSize: 13, labelFontWeight: "bold", labelAngle: 0, labelAlign: "left" },
        },
      },
      spec: {
        width: 700,
        height: { step: 26 },
        mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
        encoding: {
          y: { field: "cpu", type: "nominal", sort: cpuNames, title: "simulated CPU" },
          x: {
            field: "pct",
            type: "quantitative",
            stack: "zero",
            title: "time (% of the measured interval)",
            scale: { domain: [0, 100] },
          },
          color: { field: "part", type: "nominal", title: "CPU time in", scale: partScale },
          order: { field: "order", type: "quantitative" },
        },
      },
    },
  };

  const latRows = floods.flatMap((f, i) => {
    const l = f.data.latency;
    const qs =
      l.quantiles && l.quantiles.length > 0
        ? l.quantiles
        : [
            { q: 0.5, us: l.p50Us },
            { q: 0.99, us: l.p99Us },
          ];
    return qs.filter((q) => q.us > 0).map((q) => ({ run: names[i] as string, pct: q.q * 100, us: q.us }));
  });
  const latency: Chart = {
    id: `${id}-latency`,
    caption:
      "Cumulative distribution of the time from a datagram's arrival on the wire to its recv() by a " +
      "receiver: the share of delivered datagrams that took at most the time on the horizontal axis (log scale).",
    spec: {
      $schema: SCHEMA,
      title: { text: "Latency distribution, wire to recv()", subtitle: "delivered datagrams" },
      width: 560,
      height: 280,
      data: { values: latRows },
      mark: { type: "line", point: true, interpolate: "step-after" },
      encoding: {
        x: {
          field: "us",
          type: "quantitative",
          title: "latency (µs, log scale)",
          scale: { type: "log" },
        },
        y: {
          field: "pct",
          type: "quantitative",
          title: "datagrams at or below (%)",
          scale: { domain: [0, 100] },
        },
        color: { field: "run", type: "nominal", title: "run", scale: series },
      },
    },
  };

  return {
    id: `flood-${index}`,
    title: "sim flood: where the CPU time goes, and latency",
    facts: floods.map((f, i) => [
      names[i] as string,
      `${f.source}: ${describe(f.data.config)}; offered ${rateLabel(f.data.offeredPps)}, delivered ` +
        `${rateLabel(f.data.deliveredPps)} datagrams/s, p50 ${f.data.latency.p50Us} µs, p99 ${f.data.latency.p99Us} µs`,
    ]),
    notes: [],
    charts: [perCpu, latency],
    tables: [
      {
        caption: "CPU time split (% of each CPU)",
        head: ["run", "CPU", ...SIM_CPU_PARTS.map((p) => p.label)],
        rows: floods.flatMap((f, i) =>
          f.data.cpu.map((c) => [names[i] as string, c.cpu, ...SIM_CPU_PARTS.map((p) => c[p.key])]),
        ),
      },
      {
        caption: "latency quantiles (µs)",
        head: ["run", "quantile (%)", "latency (µs)"],
        rows: latRows.map((r) => [r.run, r.pct, r.us]),
      },
    ],
  };
}
