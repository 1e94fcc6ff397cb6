import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { busyPollSupported } from "../../src/bench/modes.js";
import { namespacesWith, runCli, stateFilesWith, uniquePrefix } from "./helpers.js";

function allNetns(): string[] {
  try {
    return readdirSync("/run/netns").filter((n) => n.startsWith("napilab-"));
  } catch {
    return [];
  }
}

describe("napilab bench rejects bad input and leaves nothing behind", () => {
  const prefix = uniquePrefix("tin");
  const cases: [string, string[], number, RegExp][] = [
    ["a size above 65507", ["--sizes", "65508"], 2, /invalid size 65508: .*1 to 65507/],
    ["zero flows", ["--flows", "0"], 2, /at least 1 flow/],
    [
      "more receivers than CPUs allow",
      ["--flows", "500", "--rx-cpus", "0"],
      2,
      /500 receiver threads.*at most 200/,
    ],
    ["an offline CPU", ["--rx-cpus", "4000"], 2, /offline or absent/],
    ["an unknown mode", ["--modes", "polling"], 2, /invalid bench mode 'polling'/],
    ["a bad duration", ["--duration", "fast"], 2, /invalid duration/],
  ];
  for (const [what, args, code, message] of cases) {
    it(`rejects ${what} with exit ${code} and one line`, () => {
      const before = allNetns();
      const r = runCli(["bench", "--quick", "--no-save", "--run-id-prefix", prefix, ...args]);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.deepEqual(allNetns(), before);
      assert.deepEqual(namespacesWith(prefix), []);
    });
  }

  for (const [what, out, message] of [
    ["a directory", "/tmp", /^napilab: --out '\/tmp' is a directory/],
    [
      "under /proc",
      "/proc/nope/x.json",
      /^napilab: --out '\/proc\/nope\/x.json': cannot create directory \/proc\/nope/,
    ],
    [
      "a file as a directory",
      "/etc/hostname/x.json",
      /^napilab: --out '\/etc\/hostname\/x.json': \/etc\/hostname is not a directory/,
    ],
  ] as const) {
    it(`rejects an --out path that is ${what} before measuring (exit 2, one line)`, () => {
      const before = allNetns();
      const r = runCli(["bench", "--quick", "--out", out, "--run-id-prefix", prefix], { timeoutMs: 20_000 });
      assert.equal(r.signal, null, "did not finish in time");
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.deepEqual(allNetns(), before);
    });
  }

  it("refuses busy-poll on a kernel without threaded busy-poll (exit 1)", {
    skip: busyPollSupported(),
  }, () => {
    const r = runCli(["bench", "--modes", "busy-poll", "--no-save", "--run-id-prefix", prefix]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /busy-poll/);
    assert.deepEqual(namespacesWith(prefix), []);
  });

  it("refuses to run without root (exit 1), creating nothing", () => {
    const r = runCli(["bench", "--quick", "--no-save", "--run-id-prefix", prefix], { unprivileged: true });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /must run as root/);
    assert.deepEqual(namespacesWith(prefix), []);
    assert.deepEqual(stateFilesWith(prefix), []);
  });
});
