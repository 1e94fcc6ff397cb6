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

describe("napilab reproduce (CLI)", () => {
  it("--json prints rows with kpps per configuration, the seed's figures and the error", () => {
    const r = runCli([
      "reproduce",
      "--sizes",
      "64000,1438",
      "--flows",
      "1,25",
      "--duration",
      "10ms",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.rows.length, 4);
    const row = doc.rows.find((x: { size: number; flows: number }) => x.size === 64000 && x.flows === 25);
    for (const k of ["vanilla", "guestThreaded", "bothThreaded"]) assert.equal(typeof row[k], "number", k);
    assert.equal(row.seed.bothThreaded, 18);
    assert.equal(typeof row.error.vanilla, "number");
    const predicted = doc.rows.find((x: { size: number }) => x.size === 1438);
    assert.equal(predicted.seed, null, "1438 is not in the seed's brief: a prediction");
    assert.equal(doc.cellsCompared, 6);
    assert.equal(typeof doc.mape.overall, "number");
  });

  it("prints the table in the seed's layout with the error and trend checks", () => {
    const r = runCli(["reproduce", "--sizes", "64000", "--flows", "1", "--duration", "10ms"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /64000\/1/);
    assert.match(r.stdout, /Mean absolute percentage error/);
    assert.match(r.stdout, /line rate caps large payloads/);
  });

  it("rejects bad input with one line and exit 2", () => {
    for (const args of [
      ["--sizes", "0"],
      ["--flows", "x"],
      ["--profile", "default"],
      ["--jobs", "-1"],
    ]) {
      const r = runCli(["reproduce", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });
});
