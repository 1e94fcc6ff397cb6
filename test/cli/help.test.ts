import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "../support/cli.js";

describe("napilab CLI", () => {
  it("prints help with exit 0", () => {
    const r = runCli(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: napilab/);
  });
  it("lists every command group in help, the main job first", () => {
    const r = runCli(["--help"]);
    const groups = ["reproduce", "sim", "napi", "bench", "calibrate"];
    const at = groups.map((g) => r.stdout.search(new RegExp(`^  ${g}\\b`, "m")));
    for (const [i, g] of groups.entries()) assert.ok((at[i] as number) >= 0, `help lists ${g}`);
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
      "groups appear in the documented order",
    );
  });
  it("prints a one-line error naming a bad value, with exit status 2", () => {
    const r = runCli(["sim", "flood", "--receiver-cpus", "0-x"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^napilab: invalid --receiver-cpus '0-x'/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });
  it("rejects an unknown option with a non-zero exit", () => {
    const r = runCli(["--no-such-option"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option/);
  });
});
