/**
 * The live `napilab top` loop: a full-screen view redrawn every interval with plain ANSI codes
 * (alternate screen, cursor home, clear to end), keys read from a raw-mode stdin. The terminal is
 * restored on every way out: q, Ctrl-C, SIGTERM, an error.
 */
import { formatDuration } from "../core/units.js";
import { renderScreen, SORT_KEYS, type SortKey } from "./render.js";
import { type Sample, Sampler, type SamplerOptions } from "./sampler.js";

const ALT_ON = "\x1b[?1049h\x1b[?25l";
const ALT_OFF = "\x1b[?25h\x1b[?1049l";
const HOME_CLEAR = "\x1b[H";
const CLEAR_EOL = "\x1b[K";
const CLEAR_EOS = "\x1b[J";

export interface TopOptions extends SamplerOptions {
  intervalNs: number;
  sort: SortKey;
  /** Stop after this many refreshes (tests, scripts); undefined = until q. */
  iterations?: number;
}

export async function runTop(o: TopOptions): Promise<void> {
  const out = process.stdout;
  const tty = out.isTTY === true;
  const stdin = process.stdin;
  const sampler = new Sampler(o);
  let sort = o.sort;
  let last: Sample | undefined;
  let frames = 0;
  let timer: NodeJS.Timeout | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const draw = () => {
    if (!last?.view) return;
    const keys = "keys: c cpu%  w wait%  p pps  n name  q quit";
    const title =
      `napilab top${o.netns ? ` --netns ${o.netns}` : ""}  every ${formatDuration(o.intervalNs)}  ` +
      `${last.view.napis.length} NAPI, ${last.view.cpus.length} CPUs  sort ${SORT_KEYS[sort].name}  ${keys}`;
    const rows = tty ? out.rows : undefined;
    const width = tty ? out.columns : undefined;
    const lines = renderScreen(last.view, last.diagnoses, { sort, title, height: rows, width });
    const fit = (l: string) => (width ? l.slice(0, width) : l);
    if (tty) out.write(`${HOME_CLEAR}${lines.map((l) => fit(l) + CLEAR_EOL).join("\n")}${CLEAR_EOS}`);
    else out.write(`${lines.join("\n")}\n\n`);
  };

  let failure: unknown;
  const tick = () => {
    try {
      last = sampler.sample();
    } catch (err) {
      failure = err; // e.g. the namespace went away: leave the screen, then report it
      return finish();
    }
    if (last.view) {
      draw();
      frames++;
    }
    if (o.iterations !== undefined && frames >= o.iterations) return finish();
    // the first view comes after a short window, so the screen fills at once
    timer = setTimeout(tick, frames === 0 ? Math.min(o.intervalNs / 1e6, 500) : o.intervalNs / 1e6);
  };

  const onKey = (data: Buffer) => {
    const k = data.toString();
    if (k === "q" || k === "Q" || k === "\x03" || k === "\x1b") return finish();
    if (k in SORT_KEYS) {
      sort = k as SortKey;
      draw();
    }
  };
  const onSignal = () => finish();
  const onResize = () => draw();

  if (tty) out.write(ALT_ON);
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onKey);
  }
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  out.on("resize", onResize);
  try {
    tick();
    await done;
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    out.off("resize", onResize);
    if (stdin.isTTY) {
      stdin.off("data", onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    if (tty) out.write(ALT_OFF);
    sampler.close();
  }
  if (failure !== undefined) throw failure;
}
