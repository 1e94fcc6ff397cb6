/**
 * The reproduce report: the seed's table against the model's. Per payload size, delivered kpps
 * against flows for the three configurations (model as lines, the seed's figures as points); a
 * heat map of the model's error per cell; the mean absolute percentage error per configuration.
 */
import type { ReproduceDoc } from "./inputs.js";
import { SEED_CONFIG_LABELS, seriesScale } from "./palette.js";
import type { Chart } from "./render.js";
import { type Section, slug } from "./section.js";

type Config = "vanilla" | "guestThreaded" | "bothThreaded";
const CONFIGS: [Config, (typeof SEED_CONFIG_LABELS)[number]][] = [
  ["vanilla", "vanilla"],
  ["guestThreaded", "guest threaded"],
  ["bothThreaded", "both threaded"],
];

const MODEL = "model (line)";
const SEED = "seed's figure (point)";

function sizeLabel(size: number): string {
  return `${size} B payload`;
}

function signedPct(e: number): string {
  const p = Math.round(e * 100);
  return `${p > 0 ? "+" : ""}${p}%`;
}

export function reproduceSection(doc: ReproduceDoc, source: string, index: number): Section {
  const sizes = [...new Set(doc.rows.map((r) => r.size))].sort((a, b) => a - b);
  const flows = [...new Set(doc.rows.map((r) => r.flows))].sort((a, b) => a - b);
  const configScale = seriesScale(SEED_CONFIG_LABELS);
  const id = `reproduce-${index}`;

  // one record per row and configuration: the model's figure, the seed's, the error
  const cells = doc.rows.flatMap((r) =>
    CONFIGS.map(([key, label]) => ({
      size: sizeLabel(r.size),
      sizeBytes: r.size,
      flows: r.flows,
      config: label,
      model: r[key],
      seed: r.seed ? r.seed[key] : null,
      errorPct: r.error ? Math.round(r.error[key] * 1000) / 10 : null,
      errorText: r.error ? signedPct(r.error[key]) : "",
    })),
  );
  const seedPoints = cells.filter((c) => c.seed !== null);

  // a panel per size (concatenated, not faceted: a size without seed figures has no point layer)
  const panel = (size: number) => {
    const mine = cells.filter((c) => c.sizeBytes === size);
    const seeds = mine.filter((c) => c.seed !== null);
    const x = {
      field: "flows",
      type: "quantitative" as const,
      title: "parallel flows (count)",
      scale: { domain: [0, Math.max(...flows)] },
    };
    return {
      title: { text: sizeLabel(size), fontSize: 13, anchor: "middle" as const, offset: 4 },
      width: 300,
      height: 180,
      layer: [
        {
          data: { values: mine },
          mark: { type: "line" as const },
          encoding: {
            x,
            y: { field: "model", type: "quantitative" as const, title: "delivered (kpps)" },
            color: { field: "config", type: "nominal" as const, title: "configuration", scale: configScale },
            strokeDash: {
              datum: MODEL,
              type: "nominal" as const,
              title: "source",
              legend: { symbolType: "stroke", symbolStrokeColor: "#333", symbolSize: 400 },
            },
          },
        },
        ...(seeds.length === 0
          ? []
          : [
              {
                data: { values: seeds },
                mark: { type: "point" as const, filled: true, size: 70, stroke: "white", strokeWidth: 1 },
                encoding: {
                  x,
                  y: { field: "seed", type: "quantitative" as const },
                  color: { field: "config", type: "nominal" as const, scale: configScale },
                  shape: {
                    datum: SEED,
                    type: "nominal" as const,
                    title: null,
                    legend: { symbolFillColor: "#333", symbolStrokeColor: "white" },
                  },
                },
              },
            ]),
      ],
    };
  };
  const perSize: Chart = {
    id: `${id}-per-size`,
    caption:
      "Each panel is one UDP payload size, with its own vertical scale, since large payloads are capped by " +
      "the 10 Gb/s wire at far fewer datagrams. Lines are the model, points the seed's measurements " +
      "(a panel without points is a size the seed does not give: the model's prediction only).",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: {
        text: "Delivered rate against flows, model and seed",
        subtitle: `profile ${doc.profile}: datagrams/s reaching the guest's netservers`,
      },
      concat: sizes.map(panel),
      columns: 3,
      spacing: 24,
    },
  };

  const heat: Chart = {
    id: `${id}-error`,
    caption:
      "Model minus seed, in percent of the seed's figure, for every cell the seed gives (sizes the seed " +
      "leaves out have no row). Orange: the model delivers more than the seed measured; blue: less.",
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: {
        text: "Model error per cell",
        subtitle: "(model − seed) / seed, per payload size, flow count and configuration",
      },
      data: { values: seedPoints },
      facet: {
        column: {
          field: "config",
          type: "nominal",
          sort: [...SEED_CONFIG_LABELS],
          title: null,
          header: { labelFontSize: 13, labelFontWeight: "bold" },
        },
      },
      spec: {
        width: 260,
        height: { step: 30 },
        encoding: {
          x: {
            field: "flows",
            type: "ordinal",
            sort: flows,
            title: "parallel flows (count)",
            axis: { labelAngle: 0 },
          },
          y: {
            field: "sizeBytes",
            type: "ordinal",
            sort: sizes,
            title: "UDP payload (bytes)",
          },
        },
        layer: [
          {
            mark: { type: "rect", stroke: "white", strokeWidth: 1 },
            encoding: {
              color: {
                field: "errorPct",
                type: "quantitative",
                title: "error (%)",
                scale: { scheme: "blueorange", domainMid: 0, domain: symmetricDomain(seedPoints) },
                legend: { gradientLength: Math.max(80, Math.min(160, 30 * sizes.length)) },
              },
            },
          },
          {
            mark: { type: "text", fontSize: 11 },
            encoding: {
              text: { field: "errorText", type: "nominal" },
              color: {
                condition: { test: "abs(datum.errorPct) > 0.6 * " + maxAbs(seedPoints), value: "white" },
                value: "black",
              },
            },
          },
        ],
      },
    },
  };

  const mapeValues = CONFIGS.flatMap(([key, label]) => {
    const v = doc.mape[key];
    return v === null ? [] : [{ config: label, mape: v, text: `${v}%` }];
  });
  const mape: Chart = {
    id: `${id}-mape`,
    caption:
      "Mean absolute percentage error of the model against the seed, per configuration, over the cells " +
      `the seed gives${doc.mape.overall === null ? "" : `; the dashed line is the overall ${doc.mape.overall}%`}.`,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: {
        text: "Mean absolute percentage error per configuration",
        subtitle: "mean |model − seed| / seed",
      },
      width: 420,
      height: 220,
      data: { values: mapeValues },
      layer: [
        {
          mark: { type: "bar", width: { band: 0.6 } },
          encoding: {
            x: {
              field: "config",
              type: "nominal",
              sort: [...SEED_CONFIG_LABELS],
              title: "configuration",
              axis: { labelAngle: 0 },
            },
            y: { field: "mape", type: "quantitative", title: "MAPE (%)" },
            color: { field: "config", type: "nominal", title: "configuration", scale: configScale },
          },
        },
        {
          mark: { type: "text", dy: -8, fontSize: 12 },
          encoding: {
            x: { field: "config", type: "nominal", sort: [...SEED_CONFIG_LABELS] },
            y: { field: "mape", type: "quantitative" },
            text: { field: "text", type: "nominal" },
          },
        },
        ...(doc.mape.overall === null
          ? []
          : [
              {
                data: { values: [{ overall: doc.mape.overall }] },
                mark: { type: "rule" as const, strokeDash: [6, 4], color: "#333" },
                encoding: { y: { field: "overall", type: "quantitative" as const } },
              },
            ]),
      ],
    },
  };

  const charts = [perSize];
  if (seedPoints.length > 0) charts.push(heat);
  if (mapeValues.length > 0) charts.push(mape);

  const notes: string[] = [];
  if (doc.mape.overall !== null)
    notes.push(
      `Mean absolute percentage error over ${doc.cellsCompared ?? seedPoints.length} cells: ${doc.mape.overall}% ` +
        `(vanilla ${doc.mape.vanilla}%, guest threaded ${doc.mape.guestThreaded}%, both threaded ${doc.mape.bothThreaded}%).`,
    );
  else notes.push("No row of this table is in the seed's brief: every figure is a prediction.");
  for (const t of doc.trend ?? []) notes.push(`${t.holds ? "[ok]" : "[FAIL]"} ${t.name}: ${t.detail}`);

  return {
    id: slug(id),
    title: "The seed's experiment: model against the seed's table",
    facts: [
      ["input", source],
      ["profile", doc.profile],
      ["sizes (bytes)", sizes.join(", ")],
      ["flows", flows.join(", ")],
    ],
    notes,
    charts,
    tables: [
      {
        caption: "kpps delivered: model, and the seed's figure where it gives one",
        head: ["size (B)", "flows", ...CONFIGS.map(([, l]) => l), ...CONFIGS.map(([, l]) => `seed: ${l}`)],
        rows: doc.rows.map((r) => [
          r.size,
          r.flows,
          ...CONFIGS.map(([k]) => r[k]),
          ...CONFIGS.map(([k]) => (r.seed ? r.seed[k] : "–")),
        ]),
      },
    ],
  };
}

function maxAbs(points: { errorPct: number | null }[]): number {
  return Math.max(1, ...points.map((p) => Math.abs(p.errorPct ?? 0)));
}

/** Colour domain centred on zero so that equal over- and under-estimates get equal strength. */
function symmetricDomain(points: { errorPct: number | null }[]): [number, number] {
  const m = Math.ceil(maxAbs(points) / 5) * 5;
  return [-m, m];
}
