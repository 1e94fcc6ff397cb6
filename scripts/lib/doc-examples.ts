/**
 * The examples in docs/commands/*.md are real runs: each sits between markers that say which
 * command produced it,
 *
 *   <!-- example: sim flood --cpus 1 --rate 1.4M -->
 *   ```
 *   $ napilab sim flood --cpus 1 --rate 1.4M
 *   ...the output...
 *   ```
 *   <!-- /example -->
 *
 * `npm run docs:examples` (scripts/gen-docs-examples.ts) reruns every command and rewrites the block;
 * test/docs/examples.test.ts reruns them and fails when the output's shape (the words, columns and
 * keys, not the figures) no longer matches the documented one.
 *
 * Marker options, after the command and a `|`, separated by `;`:
 *   root            needs root (namespaces, real traffic); skipped by the test when not root
 *   bed             runs against a veth test bed in namespaces of its own; `lab` in the command
 *                   and in the output stands for the bed's receiving namespace (device vb)
 *   lines N         the block shows the first N lines of the output
 *   test ARGS       arguments the test adds to make the run quicker (the shape must not depend on them)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const DOCS_DIR = resolve("docs/commands");
export const CLI = resolve("dist/cli/main.js");

export interface Example {
  file: string;
  /** Index of the marker line in the file. */
  line: number;
  args: string[];
  root: boolean;
  bed: boolean;
  lines: number | null;
  testArgs: string[];
  /** The output as documented (without the `$ napilab ...` line). */
  documented: string;
}

const OPEN = /^<!-- example: (.+?) -->$/;
const CLOSE = "<!-- /example -->";

function parseMarker(text: string): Omit<Example, "file" | "line" | "documented"> {
  const [command = "", ...opts] = text.split("|").map((s) => s.trim());
  const ex = {
    args: words(command),
    root: false,
    bed: false,
    lines: null as number | null,
    testArgs: [] as string[],
  };
  for (const opt of opts
    .join("|")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [key = "", ...rest] = opt.split(/\s+/);
    if (key === "root") ex.root = true;
    else if (key === "bed") {
      ex.bed = true;
      ex.root = true;
    } else if (key === "lines") ex.lines = Number(rest[0]);
    else if (key === "test") ex.testArgs = rest;
    else throw new Error(`unknown example option '${key}'`);
  }
  return ex;
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Every marked example of one markdown file, in order. */
export function examplesOf(file: string): Example[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = OPEN.exec(lines[i] as string);
    if (!m) continue;
    const end = lines.indexOf(CLOSE, i);
    if (end < 0) throw new Error(`${file}:${i + 1}: example without ${CLOSE}`);
    // the block: ``` / $ napilab ... / output / ```
    const body = lines.slice(i + 2, end - 1);
    out.push({ file, line: i, ...parseMarker(m[1] as string), documented: body.slice(1).join("\n") });
    i = end;
  }
  return out;
}

export function docFiles(): string[] {
  return readdirSync(DOCS_DIR)
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => join(DOCS_DIR, f));
}

/** A veth pair across two namespaces of this process, GRO on the receiving side (device vb). */
export interface Bed {
  rxNs: string;
  cleanup(): void;
}

export function createBed(tag: string): Bed {
  const txNs = `napilab-docs-${process.pid}-${tag}-a`;
  const rxNs = `napilab-docs-${process.pid}-${tag}-b`;
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  const cleanup = () => {
    for (const ns of [txNs, rxNs]) if (existsSync(`/run/netns/${ns}`)) spawnSync("ip", ["netns", "del", ns]);
  };
  try {
    ip("netns", "add", txNs);
    ip("netns", "add", rxNs);
    ip(
      ..."link add va numrxqueues 2 numtxqueues 2".split(" "),
      "netns",
      txNs,
      ..."type veth peer name vb numrxqueues 2 numtxqueues 2".split(" "),
      "netns",
      rxNs,
    );
    ip("-n", txNs, "link", "set", "va", "up");
    ip("-n", rxNs, "link", "set", "vb", "up");
    execFileSync("ip", ["netns", "exec", rxNs, "ethtool", "-K", "vb", "gro", "on"], { stdio: "ignore" });
  } catch (err) {
    cleanup();
    throw err;
  }
  return { rxNs, cleanup };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run an example's command as a user would; `lab` stands for the bed's namespace. */
export function runExample(ex: Example, bed: Bed | null, extra: string[] = []): Run {
  const args = [...ex.args, ...extra].map((a) => (bed && a === "lab" ? bed.rxNs : a));
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    timeout: 600_000,
    env: { ...process.env, NAPILAB_PROGRESS: "0", COLUMNS: "200" },
  });
  let stdout = r.stdout ?? "";
  if (bed) stdout = stdout.split(bed.rxNs).join("lab");
  // paths under the checkout as the user sees them from its top, wherever the clone lives
  stdout = stdout.split(`${process.cwd()}/`).join("");
  if (ex.lines !== null) stdout = stdout.split("\n").slice(0, ex.lines).join("\n");
  return { code: r.status, stdout: stdout.replace(/\n+$/, ""), stderr: r.stderr ?? "" };
}

/** The block as it appears in the markdown file. */
export function renderBlock(ex: Example, output: string): string[] {
  return [
    `<!-- example: ${[ex.args.join(" "), ...optionText(ex)].join(" | ")} -->`,
    "```",
    `$ napilab ${ex.args.join(" ")}`,
    ...output.split("\n"),
    "```",
    CLOSE,
  ];
}

function optionText(ex: Example): string[] {
  const opts: string[] = [];
  if (ex.bed) opts.push("bed");
  else if (ex.root) opts.push("root");
  if (ex.lines !== null) opts.push(`lines ${ex.lines}`);
  if (ex.testArgs.length > 0) opts.push(`test ${ex.testArgs.join(" ")}`);
  return opts.length > 0 ? [opts.join("; ")] : [];
}

/**
 * The shape of a command's output: for JSON, the keys (recursively; arrays by their elements'
 * keys); for text, every line with each figure (a word containing a digit) replaced by `#`, bar
 * characters dropped, `warning:`/`note:` lines (which depend on the host's state) left out, and
 * repeated lines of the same shape counted once.
 */
export function shapeOf(output: string): string[] {
  const trimmed = output.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return [...keysOf(JSON.parse(trimmed), "")].sort();
    } catch {
      // not a whole JSON document (cut by `lines`): compare it as text
    }
  }
  const out: string[] = [];
  for (const line of output.split("\n")) {
    if (/^(warning|note):/.test(line.trim())) continue;
    const shape = words(line)
      .filter((w) => !/^#+$/.test(w))
      .map((w) => (/\d/.test(w) ? "#" : w))
      .join(" ");
    if (shape !== "" && out.at(-1) !== shape) out.push(shape);
  }
  return out;
}

function keysOf(value: unknown, at: string, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, `${at}[]`, into);
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      // keys that are data (CPU numbers, flow ids) are not part of the shape
      const key = /^\d+$/.test(k) ? "#" : k;
      into.add(`${at}.${key}`);
      keysOf(v, `${at}.${key}`, into);
    }
  return into;
}
