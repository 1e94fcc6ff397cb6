/**
 * Parsing and formatting of the quantities napilab talks in: durations, packet rates, bit rates,
 * byte sizes and CPU lists. Every parser throws an InputError naming the bad value, so a CLI can
 * print it on one line. Durations are integer nanoseconds, the clock unit of the whole project.
 */
import { InputError } from "./errors.js";

const NUMBER = String.raw`(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?`;

function describe(what: string, text: string, hint: string): InputError {
  return new InputError(`invalid ${what} '${text}': ${hint}`);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1_000,
  µs: 1_000,
  ms: 1_000_000,
  s: 1_000_000_000,
  m: 60_000_000_000,
  min: 60_000_000_000,
  h: 3_600_000_000_000,
};

export type DurationUnit = "ns" | "us" | "ms" | "s";

/**
 * Parse a duration such as `200us`, `2ms`, `1.5s` or `500ns` into integer nanoseconds.
 * A bare number takes `defaultUnit` when one is given (e.g. `--duration 2` in seconds) and is
 * rejected otherwise, because a bare `200` is ambiguous.
 */
export function parseDuration(text: string, defaultUnit?: DurationUnit, what = "duration"): number {
  const m = new RegExp(`^\\s*(${NUMBER})\\s*([a-zµ]*)\\s*$`, "i").exec(text);
  if (!m) throw describe(what, text, "expected a number with a unit, e.g. 200us, 2ms, 1.5s");
  const unit = (m[2] ?? "").toLowerCase() || defaultUnit;
  if (!unit) throw describe(what, text, "a unit is needed (ns, us, ms, s, m, h)");
  const scale = DURATION_UNITS[unit];
  if (scale === undefined) throw describe(what, text, `unknown unit '${m[2]}' (use ns, us, ms, s, m, h)`);
  const ns = Math.round(Number(m[1]) * scale);
  if (!Number.isSafeInteger(ns)) throw describe(what, text, "too large");
  return ns;
}

/** Format nanoseconds with the largest unit that keeps the value readable, e.g. 1500000 -> "1.5ms". */
export function formatDuration(ns: number): string {
  const abs = Math.abs(ns);
  if (abs >= 1e9) return `${trim(ns / 1e9)}s`;
  if (abs >= 1e6) return `${trim(ns / 1e6)}ms`;
  if (abs >= 1e3) return `${trim(ns / 1e3)}us`;
  return `${Math.round(ns)}ns`;
}

const SI: Record<string, number> = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 };

/**
 * The highest packet rate napilab accepts: 1G packets/s is ~7x what a 100 Gb/s link carries in
 * minimum-size frames (148.8M/s), so anything above is a typo (`10G` for a bit rate).
 */
export const MAX_PACKET_RATE = 1e9;

/**
 * Parse a packet rate such as `800k`, `1.5M`, `2Mpps` or `120000` into packets per second.
 * Suffixes are decimal (k = 1000) as in every traffic generator.
 */
export function parseRate(text: string, what = "packet rate"): number {
  const m = new RegExp(`^\\s*(${NUMBER})\\s*([kKmMgG]?)\\s*(pps|/s)?\\s*$`).exec(text);
  if (!m) throw describe(what, text, "expected e.g. 800k, 1.5M or 2Mpps");
  const value = Number(m[1]) * (SI[m[2] ?? ""] ?? 1);
  if (!Number.isFinite(value)) throw describe(what, text, "not a finite number");
  if (value <= 0) throw describe(what, text, "must be more than 0 packets per second");
  if (value > MAX_PACKET_RATE)
    throw describe(what, text, `beyond any NIC (at most ${formatRate(MAX_PACKET_RATE)} packets/s)`);
  return value;
}

/**
 * Parse a link bit rate such as `10G`, `10Gbit`, `25Gb/s` or `100M` into bits per second (decimal).
 */
export function parseBitRate(text: string): number {
  const m = new RegExp(`^\\s*(${NUMBER})\\s*([kKmMgGtT]?)\\s*(bit|bps|b/s)?\\s*$`).exec(text);
  if (!m) throw describe("bit rate", text, "expected e.g. 10G, 10Gbit or 25Gb/s");
  const scale: Record<string, number> = { ...SI, t: 1e12, T: 1e12 };
  return Number(m[1]) * (scale[m[2] ?? ""] ?? 1);
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1e6,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1e9,
};

/**
 * Parse a byte size: `1438`, `64KiB`, `4k` (binary, as in ethtool and tc), `1MB` (decimal).
 * The result is a whole number of bytes.
 */
export function parseSize(text: string, what = "size"): number {
  const m = new RegExp(`^\\s*(${NUMBER})\\s*([a-z]*)\\s*$`, "i").exec(text);
  if (!m) throw describe(what, text, "expected bytes, optionally with k, KiB, M, MiB, kB, MB");
  const scale = SIZE_UNITS[(m[2] ?? "").toLowerCase()];
  if (scale === undefined) throw describe(what, text, `unknown unit '${m[2]}'`);
  const bytes = Number(m[1]) * scale;
  if (!Number.isInteger(bytes)) throw describe(what, text, "not a whole number of bytes");
  return bytes;
}

/**
 * Parse a CPU list in the kernel's cpulist format (`0-3,6`, `0-7:2` for every second CPU) into
 * a sorted array of distinct CPU numbers. The same syntax as /sys/devices/system/cpu/online
 * and taskset -c.
 */
export function parseCpuList(text: string, what = "CPU list"): number[] {
  const trimmed = text.trim();
  if (trimmed === "") throw describe(what, text, "empty (expected e.g. 0-3,6)");
  const cpus = new Set<number>();
  for (const part of trimmed.split(",")) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+)(?::(\d+))?)?\s*$/.exec(part);
    if (!m) throw describe(what, text, `bad element '${part}' (expected N, N-M or N-M:STRIDE)`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const stride = m[3] === undefined ? 1 : Number(m[3]);
    if (last < first) throw describe(what, text, `range '${part}' runs backwards`);
    if (stride < 1) throw describe(what, text, `stride in '${part}' must be at least 1`);
    if (last > 8191) throw describe(what, text, `CPU ${last} is beyond any Linux host (max 8191)`);
    for (let cpu = first; cpu <= last; cpu += stride) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Format CPU numbers back to the compact kernel cpulist form: [0,1,2,3,6] -> "0-3,6". */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** Check every CPU of a list exists on a host (or model) with `count` CPUs numbered from 0. */
export function checkCpusWithin(cpus: readonly number[], count: number, what = "CPU list"): void {
  const bad = cpus.filter((c) => c >= count);
  if (bad.length > 0) {
    const range = count === 1 ? "only CPU 0" : `CPUs 0-${count - 1}`;
    throw new InputError(`${what} names CPU ${formatCpuList(bad)}, but there are ${range}`);
  }
}

/** Parse an integer option, with inclusive bounds, naming the option in the error. */
export function parseInteger(text: string, what: string, min = -Infinity, max = Infinity): number {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw describe(what, text, "expected a whole number");
  const n = Number(text);
  if (n < min || n > max) {
    const range =
      max === Infinity ? `at least ${min}` : min === -Infinity ? `at most ${max}` : `${min} to ${max}`;
    throw describe(what, text, `must be ${range}`);
  }
  return n;
}

/**
 * Parse a comma-separated list with an element parser, e.g. `--sizes 1,256,4096`. Strict, because
 * a list is a set of cells to run: an empty list, an empty item (`1,,2`) or the same value twice
 * (`1,1`, also `1k,1024`) is a mistake to point out, not something to skip or count twice.
 * `what` names the option in the message.
 */
export function parseList<T>(text: string, parse: (item: string) => T, what = "list"): T[] {
  if (text.trim() === "") throw new InputError(`invalid ${what} '${text}': empty list`);
  const items = text.split(",");
  const values: T[] = [];
  const seen = new Map<string, string>();
  items.forEach((raw, i) => {
    const item = raw.trim();
    if (item === "")
      throw new InputError(`invalid ${what} '${text}': item ${i + 1} of ${items.length} is empty`);
    const value = parse(item);
    const key = JSON.stringify(value);
    const first = seen.get(key);
    if (first !== undefined)
      throw new InputError(
        `invalid ${what} '${text}': '${item}' repeats ${first === item ? "an earlier item" : `'${first}'`}`,
      );
    seen.set(key, item);
    values.push(value);
  });
  return values;
}

/** Format a rate with an SI suffix: 1500000 -> "1.5M". */
export function formatRate(perSecond: number): string {
  const abs = Math.abs(perSecond);
  if (abs >= 1e9) return `${trim(perSecond / 1e9)}G`;
  if (abs >= 1e6) return `${trim(perSecond / 1e6)}M`;
  if (abs >= 1e3) return `${trim(perSecond / 1e3)}k`;
  return `${trim(perSecond)}`;
}

function trim(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
