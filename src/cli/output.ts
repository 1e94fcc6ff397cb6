/**
 * How every command reports: a human table on stdout, or exactly one JSON document with --json.
 * Progress goes to stderr so that stdout stays parseable.
 */
import { SingleBar } from "cli-progress";
import Table from "cli-table3";

let stdoutGone = false;

/**
 * Once the reader of stdout has gone (EPIPE: `napilab napi caps | head -1`), nothing more can be
 * said there: the rest of the output is dropped and the command finishes (and cleans up) as it
 * would, then exits quietly. Other stdout errors go to `onOtherError`.
 */
export function quietOnClosedStdout(onOtherError: (err: Error) => void): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") {
      stdoutGone = true;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      return;
    }
    onOtherError(err);
  });
}

/** True once stdout's reader has gone: a command that reports forever (a live view) should stop. */
export function stdoutClosed(): boolean {
  return stdoutGone;
}

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
  // cli-table3 pads the last column too: no line of napilab's output ends in spaces
  return withoutTrailingSpaces(table.toString());
}

/** Remove the blanks at the end of every line (tables pad their last column). */
export function withoutTrailingSpaces(text: string): string {
  return text.replace(/[ \t]+$/gm, "");
}

export interface Progress {
  tick(done: number, label?: string): void;
  stop(): void;
}

/** How a progress bar counts: items done of a total ("3/12"), or a share of the work ("25%"). */
export type ProgressCount = "items" | "percent";

/** Whole seconds as "42s", "3m05s" or "1h02m", for an estimate of the time left. */
export function formatEta(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * The time left, from the rate so far; empty until there is something to estimate from (nothing
 * done yet, or less than a second elapsed), so a bar never starts with a meaningless estimate.
 */
export function etaText(done: number, total: number, elapsedMs: number): string {
  if (done <= 0 || done >= total || elapsedMs < 1000) return "";
  return `eta ${formatEta(((total - done) * elapsedMs) / done / 1000)}`;
}

/**
 * A progress bar on stderr for anything that takes more than a few seconds. Silent when stderr is
 * not a terminal (CI logs, pipes) unless NAPILAB_PROGRESS=1, which prints it there too.
 */
export function startProgress(total: number, what: string, count: ProgressCount = "items"): Progress {
  const forced = process.env.NAPILAB_PROGRESS === "1";
  const enabled = process.stderr.isTTY || forced;
  if (!enabled) return { tick() {}, stop() {} };
  const startedAt = Date.now();
  const done = count === "percent" ? "{percentage}%" : "{value}/{total}";
  const bar = new SingleBar({
    format: `${what} [{bar}] ${done}{label}{etaLeft}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
    noTTYOutput: forced,
    // off a terminal (forced), one line every 2 s at most, so that logs stay readable
    fps: process.stderr.isTTY ? 10 : 1,
  });
  // cli-progress redraws off a terminal from a timer only, which never fires while a synchronous
  // simulation holds the event loop: let updates redraw (throttled by fps) there as on a terminal
  (bar as unknown as { options: { synchronousUpdate: boolean } }).options.synchronousUpdate = true;
  bar.start(total, 0, { label: "", etaLeft: "" });
  return {
    tick(value, label = "") {
      const eta = etaText(value, total, Date.now() - startedAt);
      bar.update(value, { label: label ? ` ${label}` : "", etaLeft: eta ? ` ${eta}` : "" });
    },
    stop() {
      bar.stop();
    },
  };
}
