/**
 * Reports with plots: from napilab's JSON results to one self-contained HTML page.
 * Inputs of a kind are drawn together where comparing them is the point (several `sim flood`
 * runs or sweeps, e.g. one per mode, share their charts); a calibration sits beside its bench.
 */
import { benchSection, calibrationSection } from "./bench.js";
import type { ReportInput } from "./inputs.js";
import { type ReportMeta, renderPage } from "./page.js";
import { reproduceSection } from "./reproduce.js";
import type { Section } from "./section.js";
import { floodSection, sweepSection } from "./sim.js";

export { checkInput, KIND_NAMES, MAX_INPUT_BYTES, type ReportInput, readInput } from "./inputs.js";
export { escapeHtml, type ReportMeta, shellQuote } from "./page.js";

function pick<K extends ReportInput["kind"]>(inputs: ReportInput[], kind: K) {
  return inputs.filter((i): i is Extract<ReportInput, { kind: K }> => i.kind === kind);
}

/** The sections of a report, in a fixed order: reproduce, sim sweeps, sim floods, bench, calibration. */
export function buildSections(inputs: ReportInput[]): Section[] {
  const sections: Section[] = [];
  pick(inputs, "reproduce").forEach((i, k) => {
    sections.push(reproduceSection(i.data, i.source, k));
  });
  const sweeps = pick(inputs, "sweep");
  if (sweeps.length) sections.push(sweepSection(sweeps));
  const floods = pick(inputs, "flood");
  if (floods.length) sections.push(floodSection(floods));
  const benches = pick(inputs, "bench");
  const cals = pick(inputs, "calibration");
  benches.forEach((b, k) => {
    // with one bench, every calibration given belongs beside it; with several, they get their own
    sections.push(benchSection(b, benches.length === 1 ? cals : [], k));
  });
  if (benches.length !== 1)
    cals.forEach((c, k) => {
      sections.push(calibrationSection(c, k));
    });
  return sections;
}

function titleOf(inputs: ReportInput[]): string {
  const kinds = new Set(inputs.map((i) => i.kind));
  if (kinds.size === 1) {
    const k = [...kinds][0];
    if (k === "reproduce") return "napilab report: the seed's experiment in the model";
    if (k === "sweep") return "napilab report: delivered against offered (sim flood --sweep)";
    if (k === "flood") return "napilab report: simulated UDP flood (sim flood)";
    if (k === "calibration") return "napilab report: calibration, model against measurement";
  }
  if ([...kinds].every((k) => k === "bench" || k === "calibration"))
    return "napilab report: benchmark of NAPI modes on a real host";
  return "napilab report";
}

/** The page for these inputs, as one HTML string; chart warnings (spec bugs) go to `warnings`. */
export async function buildReport(
  inputs: ReportInput[],
  meta: ReportMeta,
  warnings: string[] = [],
): Promise<string> {
  return renderPage(titleOf(inputs), buildSections(inputs), meta, warnings);
}
