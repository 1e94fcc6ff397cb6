/**
 * The error convention, over every command: bad input exits 2 with exactly one stderr line that
 * starts `napilab:` and names what is wrong, nothing on stdout, never a stack trace (unless --debug).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Command } from "@commander-js/extra-typings";
import { buildProgram } from "../../src/cli/program.js";
import { CLI, runCli } from "../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "napilab-errors-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A bench result whose first cell has a string where a number belongs. */
const wrongShape = join(dir, "wrong-shape.json");
writeFileSync(
  wrongShape,
  JSON.stringify({
    tool: "napilab bench",
    version: 1,
    runId: "x",
    startedAt: "2026-01-01T00:00:00Z",
    host: { kernel: "6.18" },
    cells: [{ mode: "threaded", size: "256", flows: 1 }],
  }),
);
/** A profile with a string where a figure's number belongs. */
const badProfile = join(dir, "bad-profile.json");
writeFileSync(
  badProfile,
  JSON.stringify({
    name: "bad",
    description: "a figure given as a string",
    extends: "default",
    figures: { hz: { value: "1000", provenance: "typed by hand" } },
  }),
);
const notJson = join(dir, "not.json");
writeFileSync(notJson, '{"tool": "napilab bench",');

/** Every command path of the program, e.g. ["napi", "set"]; the program itself is []. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  const out = [prefix];
  for (const sub of cmd.commands)
    out.push(...commandPaths(sub as unknown as Command, [...prefix, sub.name()]));
  return out;
}

/** [arguments, what the one line must mention]: at least one bad input for every command. */
const CASES: [string[], RegExp][] = [
  [[], /no command given: reproduce, sim/],
  [["bogus"], /unknown command 'bogus'/],
  [["help", "bogus"], /unknown command 'bogus'/],
  // reproduce: the main job
  [["reproduce", "--bogus"], /reproduce: unknown option '--bogus'/],
  [["reproduce", "--duration", "0"], /invalid --duration '0'/],
  [["reproduce", "--sizes", "1,1"], /invalid --sizes '1,1': '1' repeats/],
  [["reproduce", "--sizes", "1,,2"], /invalid --sizes '1,,2': item 2 of 3 is empty/],
  [["reproduce", "--sizes", ""], /invalid --sizes '': empty list/],
  [["reproduce", "--flows", "0"], /invalid --flows item '0'/],
  [["reproduce", "--jobs", "x"], /invalid --jobs 'x'/],
  [["reproduce", "--profile", "no-such-profile"], /unknown profile 'no-such-profile'/],
  // sim
  [["sim"], /sim needs a command: flood/],
  [["sim", "bogus"], /sim: unknown command 'bogus'/],
  [
    ["sim", "flood", "--softirq-policy", "5.0"],
    /sim flood: option '--softirq-policy <policy>' argument '5.0' is invalid/,
  ],
  [["sim", "flood", "--sweep", ""], /invalid --sweep '': empty list/],
  [["sim", "flood", "--sweep", "1M,,2M"], /invalid --sweep '1M,,2M': item 2/],
  [["sim", "flood", "--flows", "100000"], /invalid --flows '100000': must be 1 to 10000/],
  [["sim", "flood", "--rate", "0"], /invalid --rate '0'/],
  [["sim", "flood", "--rate"], /option '--rate <pps>' argument missing/],
  [["sim", "flood", "--jso"], /unknown option '--jso' \(did you mean --json\?\)/],
  [["sim", "flood", "--napi-cpus", "0-x"], /invalid --napi-cpus '0-x'/],
  [["sim", "flood", "--profile", "/dev/zero"], /profile '\/dev\/zero' is larger than the 1 MiB/],
  [
    ["sim", "flood", "--profile", badProfile],
    /profile '.*bad-profile\.json' is malformed at figures\.hz\.value: .*expected number, received string/,
  ],
  // napi (bad input is refused before the host is asked anything)
  [["napi"], /napi needs a command: list, caps/],
  [["napi", "lst"], /napi: unknown command 'lst' \(did you mean list\?\)/],
  [["napi", "list", "--bogus"], /napi list: unknown option '--bogus'/],
  [["napi", "list", "extra"], /napi list: too many arguments/],
  [["napi", "caps", "--netns", "bad/name"], /invalid network namespace name 'bad\/name'/],
  [["napi", "set", "b"], /napi set needs --threaded or an IRQ knob/],
  [["napi", "set", "nl0", "--threaded", "sometimes"], /invalid NAPI mode 'sometimes'/],
  [["napi", "pin", "--cpus", "0"], /napi pin: missing required argument 'targets'/],
  [["napi", "pin", "nl0", "--cpus", "0-x"], /'0-x'/],
  [["napi", "sched", "nl0"], /napi sched: required option '--policy <POLICY>' not specified/],
  [["napi", "sched", "nl0", "--policy", "fifo", "--prio", "500"], /invalid priority '500'/],
  // bench: refused while parsing, before anything is created
  [["bench", "--rate", "0"], /invalid --rate '0'/],
  [["bench", "--rate", "1e12"], /invalid --rate '1e12': beyond any NIC/],
  [["bench", "--rate", "10G"], /invalid --rate '10G': beyond any NIC/],
  [["bench", "--sizes", ""], /invalid --sizes '': empty list/],
  [["bench", "--modes", ""], /invalid --modes '': empty list/],
  [["bench", "--modes", "softirq,softirq"], /invalid --modes 'softirq,softirq': 'softirq' repeats/],
  [["bench", "--flows", "1,,25"], /invalid --flows '1,,25': item 2 of 3 is empty/],
  // calibrate: the file named, and the JSON path at fault; no flag blamed that was never passed
  [["calibrate"], /calibrate: required option '--from <RESULT>' not specified/],
  [
    ["calibrate", "--from", wrongShape],
    /bench result '.*wrong-shape\.json' is malformed at cells\[0\]\.size: .*expected number, received string/,
  ],
  [["calibrate", "--from", notJson], /bench result '.*not\.json' is not JSON/],
  [["calibrate", "--from", "/dev/zero"], /bench result '\/dev\/zero' is larger than the 16 MiB/],
  [["calibrate", "--from", dir], /cannot read bench result '.*': is a directory/],
  [
    ["calibrate", "--from", join(dir, "missing.json")],
    /cannot read bench result '.*missing\.json': no such file/,
  ],
  [["calibrate", "--from", "package.json"], /not a napilab bench result/],
  [["calibrate", "--from", wrongShape, "--sim-duration", "0"], /invalid --sim-duration '0'/],
];

function assertConvention(args: string[], r: ReturnType<typeof runCli>, mention?: RegExp): void {
  const what = `napilab ${args.join(" ")}: ${r.stderr}`;
  assert.equal(r.code, 2, what);
  assert.equal(r.stdout, "", `nothing on stdout: ${what}`);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `exactly one line: ${what}`);
  assert.match(lines[0] as string, /^napilab: \S/, what);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace: ${what}`);
  if (mention) assert.match(lines[0] as string, mention, what);
}

describe("one error convention for every command", () => {
  const paths = commandPaths(buildProgram() as unknown as Command);

  it("knows the commands it checks (the table names only real commands)", () => {
    const known = new Set(paths.map((p) => p.join(" ")));
    for (const [args] of CASES) {
      const words = args.filter((a) => !a.startsWith("-"));
      const longest = words.reduce<string[]>(
        (best, _, i) => (known.has(words.slice(0, i + 1).join(" ")) ? words.slice(0, i + 1) : best),
        [],
      );
      assert.ok(
        longest.length > 0 || args.length === 0 || ["bogus", "help"].includes(args[0] as string),
        args.join(" "),
      );
    }
    for (const p of [["reproduce"], ["sim", "flood"], ["napi", "set"], ["bench"], ["calibrate"]])
      assert.ok(known.has(p.join(" ")), p.join(" "));
  });

  for (const [args, mention] of CASES) {
    it(`napilab ${args.map((a) => (a === "" ? "''" : a.replace(dir, "DIR"))).join(" ")}`, () => {
      assertConvention(args, runCli(args, { timeoutMs: 60_000 }), mention);
    });
  }

  // every command, also one added later, rejects an unknown option by the convention
  for (const path of paths) {
    it(`napilab ${[...path, "--no-such-option"].join(" ")}`, () => {
      const args = [...path, "--no-such-option"];
      assertConvention(
        args,
        runCli(args, { timeoutMs: 60_000 }),
        // commander reports a missing mandatory option before an unknown one
        /unknown option '--no-such-option'|required option '(-\w, )?--\S+ <\w+>' not specified/,
      );
    });
  }
});

describe("--debug", () => {
  it("adds the stack trace to the one line, only when asked", () => {
    const plain = runCli(["sim", "flood", "--cpus", "0"]);
    assertConvention(["sim", "flood", "--cpus", "0"], plain, /invalid --cpus '0'/);
    const debug = runCli(["--debug", "sim", "flood", "--cpus", "0"]);
    assert.equal(debug.code, 2);
    assert.match(debug.stderr, /^napilab: invalid --cpus '0'/);
    assert.match(debug.stderr, /^\s+at /m, "a stack with --debug");
  });
  it("an internal error (a bug) is one line with exit 70, the stack only with --debug", () => {
    // a bug planted from outside: JSON.stringify fails when --json prints
    const plant = 'data:text/javascript,JSON.stringify=()=>{throw new TypeError("planted bug")}';
    const run = (extra: string[]) =>
      spawnSync(
        process.execPath,
        ["--import", plant, CLI, "sim", "flood", "--duration", "1ms", "--json", ...extra],
        {
          encoding: "utf8",
        },
      );
    const plain = run([]);
    assert.equal(plain.status, 70);
    assert.equal(
      plain.stderr,
      "napilab: internal error: planted bug (run with --debug for the stack trace)\n",
    );
    const debug = run(["--debug"]);
    assert.equal(debug.status, 70);
    assert.match(debug.stderr, /^napilab: internal error: TypeError: planted bug\n\s+at /);
  });
  it("is listed among the global options", () => {
    assert.match(runCli(["sim", "flood", "--help"]).stdout, /--debug/);
  });
});

describe("a reader that closes stdout early (napilab ... | head -1)", () => {
  it("ends quietly: exit 0, nothing on stderr", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "sim", "flood", "--duration", "20ms", "--sweep", "100k,200k"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.destroy(); // the reader is gone before napilab writes a byte
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(stderr, "");
    assert.equal(code, 0);
  });
});
