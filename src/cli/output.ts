/**
 * How every command reports: a human table on stdout, or exactly one JSON document with --json.
 * Progress goes to stderr so that stdout stays parseable.
 */
import { SingleBar } from "cli-progress";
import Table from "cli-table3";

/** Print one JSON document on stdout (the only thing a --json command writes there). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Render rows as an aligned table with a header line; cells are already formatted strings. */
export function renderTable(
  head: string[],
  rows: (string | number)[][],
  align?: ("left" | "right")[],
): string {
  const table = new Table({
    head,
    style: { head: [], border: [], compact: true },
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "  ",
    },
    colAligns: align ?? head.map((_, i) => (i === 0 ? "left" : "right")),
  });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}

export interface Progress {
  tick(done: number, label?: string): void;
  stop(): void;
}

/**
 * A progress bar on stderr for anything that takes more than a few seconds. Silent when stderr is
 * not a terminal (CI logs, pipes) unless NAPILAB_PROGRESS=1, so logs are not flooded.
 */
export function startProgress(total: number, what: string): Progress {
  const enabled = process.stderr.isTTY || process.env.NAPILAB_PROGRESS === "1";
  if (!enabled) return { tick() {}, stop() {} };
  const bar = new SingleBar({
    format: `${what} [{bar}] {value}/{total} {label} eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total, 0, { label: "" });
  return {
    tick(done, label = "") {
      bar.update(done, { label });
    },
    stop() {
      bar.stop();
    },
  };
}
