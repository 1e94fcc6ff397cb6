/**
 * Turning a Vega-Lite chart into an SVG string in Node: vega-lite compiles the declarative spec to
 * a Vega spec, and a headless vega View (renderer "none", so no canvas is needed) renders it with
 * toSVG(). The result is inlined into the page, so the report draws without JavaScript or network.
 */
import type { TopLevelSpec } from "vega-lite";

// vega and vega-lite are loaded on the first chart, not when the CLI starts: every command imports
// this module (for --html), and loading them costs about a second of start-up
let libs: Promise<[typeof import("vega"), typeof import("vega-lite")]> | undefined;
function loadVega(): Promise<[typeof import("vega"), typeof import("vega-lite")]> {
  libs ??= Promise.all([import("vega"), import("vega-lite")]);
  return libs;
}

/**
 * Okabe & Ito's palette, safe for the common colour-vision deficiencies, in an order that keeps the
 * first colours far apart (the yellow, weak on white, comes last).
 */
export const OKABE_ITO = [
  "#0072B2", // blue
  "#E69F00", // orange
  "#009E73", // bluish green
  "#D55E00", // vermillion
  "#CC79A7", // reddish purple
  "#56B4E9", // sky blue
  "#000000", // black
  "#F0E442", // yellow
] as const;

/** Font stack: DejaVu is what Debian's chromium finds; the others are for other machines. */
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

/** The look every chart shares; the palette is the default for every nominal colour scale. */
const CONFIG = {
  font: FONT,
  background: "white",
  padding: 8,
  title: { fontSize: 15, anchor: "start", offset: 10, subtitleFontSize: 12, subtitleColor: "#444" },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", gridColor: "#e6e6e6" },
  header: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: "normal" },
  legend: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: "normal",
    symbolStrokeWidth: 2,
    labelLimit: 320,
  },
  range: { category: [...OKABE_ITO] },
  view: { stroke: "#ccc" },
  line: { strokeWidth: 2 },
  point: { size: 60, filled: true },
} as const;

/** A chart of the report: its Vega-Lite spec and the words that go with it in the page. */
export interface Chart {
  /** Shown above the SVG as the chart's heading (the spec carries its own title too). */
  id: string;
  spec: TopLevelSpec;
  /** One or two sentences under the chart: how to read it. */
  caption: string;
}

/**
 * Make every id in one SVG unique in the page: vega numbers clip paths and gradients from 1 in
 * each SVG, and a page with several SVGs would otherwise point url(#clip1) at another chart's clip.
 */
function prefixIds(svg: string, prefix: string): string {
  // renumber in order of declaration: vega's gradient ids come from a process-wide counter, so
  // keeping them would make the same report differ from one run to the next
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\bid="([^"]+)"/g)) {
    const id = m[1] as string;
    if (!ids.has(id)) ids.set(id, `${prefix}-${ids.size + 1}`);
  }
  const rename = (id: string) => ids.get(id) ?? id;
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id) => `id="${rename(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${rename(id)})`)
    .replace(/href="#([^"]+)"/g, (_, id) => `href="#${rename(id)}"`);
}

export interface RenderedChart {
  svg: string;
  /** What vega-lite and vega warned about (a spec problem: the tests require none). */
  warnings: string[];
}

/** Render one chart to an SVG string (deterministic: same spec, same SVG). */
export async function renderSvg(chart: Chart): Promise<RenderedChart> {
  const [vega, { compile }] = await loadVega();
  const warnings: string[] = [];
  // collect warnings instead of printing them: a report's stderr is for the user's errors
  const logger = vega.logger(vega.Warn, undefined, (method, _level, args) => {
    if (method !== "log") warnings.push(args.map(String).join(" "));
  });
  const spec = { ...chart.spec, config: { ...CONFIG, ...(chart.spec.config ?? {}) } } as TopLevelSpec;
  const compiled = compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logger });
  try {
    const svg = await view.toSVG();
    return { svg: prefixIds(svg, chart.id), warnings };
  } finally {
    view.finalize();
  }
}
