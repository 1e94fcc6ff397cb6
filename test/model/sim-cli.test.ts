import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

/** Runs the built CLI (npm test builds before testing). */
function runCli(args: string[]) {
  const r = spawnSync(process.execPath, ["dist/cli/main.js", ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("napilab sim flood (CLI)", () => {
  it("--json prints one document with the documented fields", () => {
    const r = runCli(["sim", "flood", "--rate", "300k", "--duration", "20ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    for (const k of ["offeredPps", "deliveredPps", "drops", "cpu", "latency"]) assert.ok(k in doc, k);
    assert.equal(doc.offeredPps, 300000);
  });

  it("prints a human report and a sweep table", () => {
    const r = runCli(["sim", "flood", "--duration", "20ms", "--sweep", "100k,2M"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /delivered vs offered/);
    assert.match(r.stdout, /100k/);
  });

  it("bad input fails with one line and exit 2, before simulating", () => {
    for (const args of [
      ["--cpus", "0"],
      ["--receiver-cpus", "5", "--cpus", "2"],
      ["--rate", "-3"],
      ["--profile", "nonexistent"],
      ["--mode", "sometimes"],
    ]) {
      const r = runCli(["sim", "flood", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
    }
  });
});
