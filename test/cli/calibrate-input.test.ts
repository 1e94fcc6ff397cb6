/**
 * calibrate reads bench results through their schema: a real result (saved by `napilab bench
 * --quick` on this project's test host) is accepted, and each way a file can be wrong is named by
 * file and JSON path, before anything is fitted or written.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { loadResult } from "../../src/bench/result.js";
import { readTextFile } from "../../src/core/files.js";
import { runCli } from "../support/cli.js";

const FIXTURE = resolve("test/fixtures/bench-result-quick.json");
const dir = mkdtempSync(join(tmpdir(), "napilab-calibrate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fixture with one change made by `edit`, saved under `name`. */
function variant(
  name: string,
  edit: (doc: { cells: Record<string, unknown>[] } & Record<string, unknown>) => void,
) {
  const doc = JSON.parse(readFileSync(FIXTURE, "utf8"));
  edit(doc);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe("calibrate --from: results validated by schema", () => {
  it("accepts a result napilab bench saved, and fits from it", () => {
    const out = join(dir, "profile.json");
    const r = runCli(["calibrate", "--from", FIXTURE, "--out", out, "--sim-duration", "20ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const cal = JSON.parse(r.stdout);
    assert.ok(cal.receiver.fixedNs > 0 && cal.stack.fixedNs > 0);
    assert.ok(existsSync(out));
  });

  const cases: [
    string,
    (doc: { cells: Record<string, unknown>[] } & Record<string, unknown>) => void,
    RegExp,
  ][] = [
    [
      "a string where a count belongs",
      (d) => (d.cells[0] = { ...d.cells[0], received: "5000" }),
      /at cells\[0\]\.received: .*expected number, received string/,
    ],
    ["a payload of 0 bytes", (d) => (d.cells[1] = { ...d.cells[1], size: 0 }), /at cells\[1\]\.size: /],
    [
      "a negative rate",
      (d) => (d.cells[2] = { ...d.cells[2], offeredPps: -1 }),
      /at cells\[2\]\.offeredPps: /,
    ],
    ["an unknown mode", (d) => (d.cells[0] = { ...d.cells[0], mode: "polling" }), /at cells\[0\]\.mode: /],
    ["cells that are not a list", (d) => (d.cells = {} as never), /at cells: /],
    ["a missing receivers block", (d) => delete d.cells[3]?.receivers, /at cells\[3\]\.receivers: /],
  ];
  for (const [what, edit, message] of cases) {
    it(`rejects ${what}, naming the file and the JSON path, writing nothing`, () => {
      const path = variant(`${what.replace(/\W+/g, "-")}.json`, edit);
      const out = join(dir, `never-${what.replace(/\W+/g, "-")}.json`);
      const r = runCli(["calibrate", "--from", path, "--out", out]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.ok(r.stderr.startsWith(`napilab: bench result '${path}' is malformed `), r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(
        r.stderr,
        /--size|--rate|--flows|--duration/,
        "no flag blamed that was never passed",
      );
      assert.equal(existsSync(out), false, "no profile written");
    });
  }

  it("loadResult gives the reader the whole document, fields it does not check included", () => {
    const r = loadResult(FIXTURE) as unknown as Record<string, unknown>;
    assert.ok("topology" in r && "options" in r);
  });
});

describe("bounded reads", () => {
  it("stops reading a device that never ends at the limit", () => {
    assert.throws(
      () => readTextFile("/dev/zero", "thing", 4096),
      /thing '\/dev\/zero' is larger than the 4 KiB/,
    );
  });
  it("refuses a regular file above the limit without reading it", () => {
    const big = join(dir, "big.json");
    writeFileSync(big, "x".repeat(5000));
    assert.throws(() => readTextFile(big, "thing", 4096), /is 4\.9 KiB, larger than the 4 KiB/);
    assert.equal(readTextFile(big, "thing", 5000).length, 5000);
  });
});
