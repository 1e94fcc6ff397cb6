/** What a report is made of: sections of charts, each with the facts and tables behind them. */
import type { Chart } from "./render.js";

/** A table of the figures a chart draws, so the page reads without colour, JavaScript or SVG. */
export interface DataTable {
  caption: string;
  head: string[];
  rows: (string | number)[][];
}

export interface Section {
  /** Anchor in the page (letters, digits and dashes). */
  id: string;
  title: string;
  /** Where the figures came from: the input file, profile or kernel, options. */
  facts: [string, string][];
  /** Short findings or warnings, one sentence each (e.g. the seed's trend checks). */
  notes: string[];
  charts: Chart[];
  tables: DataTable[];
}

/** kpps with a sensible number of digits. */
export function kpps(pps: number): number {
  const k = pps / 1000;
  return k >= 100 ? Math.round(k) : Math.round(k * 10) / 10;
}

/** A string safe to use as an id or anchor. */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "x"
  );
}
