import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { etaText, formatEta, renderTable, withoutTrailingSpaces } from "../../src/cli/output.js";
import { runCli } from "../support/cli.js";

describe("tables", () => {
  it("no line ends in spaces, whatever the alignment of the last column", () => {
    for (const align of [undefined, ["left", "left"] as ("left" | "right")[]]) {
      const text = renderTable(
        ["NAME", "NOTE"],
        [
          ["a", ""],
          ["bb", "disturbed"],
          ["ccc", "x"],
        ],
        align,
      );
      for (const line of text.split("\n")) assert.doesNotMatch(line, /\s$/, JSON.stringify(line));
      assert.match(text, /bb\s+disturbed/);
    }
  });
  it("the command output has no trailing spaces either", () => {
    const r = runCli(["sim", "flood", "--duration", "20ms"]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of r.stdout.split("\n")) assert.doesNotMatch(line, /\s$/, JSON.stringify(line));
  });
  it("withoutTrailingSpaces keeps inner spacing", () => {
    assert.equal(withoutTrailingSpaces(" a  b  \n c \t\n"), " a  b\n c\n");
  });
});

describe("progress", () => {
  it("shows no estimate before there is one to make", () => {
    assert.equal(etaText(0, 10, 5000), "");
    assert.equal(etaText(3, 10, 500), "", "less than a second in");
    assert.equal(etaText(10, 10, 5000), "", "done");
    assert.equal(etaText(5, 10, 4000), "eta 4s");
    assert.equal(etaText(1, 100, 2000), "eta 3m18s");
  });
  it("formats the time left as s, m and h", () => {
    assert.equal(formatEta(0.2), "1s");
    assert.equal(formatEta(59), "59s");
    assert.equal(formatEta(65), "1m05s");
    assert.equal(formatEta(3720), "1h02m");
  });
  it("sim flood reports progress in simulated time on stderr, without 'eta NFs'", () => {
    const r = spawnWithProgress(["sim", "flood", "--duration", "1s", "--flows", "50", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    JSON.parse(r.stdout); // stdout stays one JSON document
    assert.match(r.stderr, /^simulating \[[=-]+\] \d+%/m);
    assert.doesNotMatch(r.stderr, /NF|INF|NULL|NaN/);
  });
});

function spawnWithProgress(args: string[]) {
  const previous = process.env.NAPILAB_PROGRESS;
  process.env.NAPILAB_PROGRESS = "1";
  try {
    return runCli(args);
  } finally {
    if (previous === undefined) delete process.env.NAPILAB_PROGRESS;
    else process.env.NAPILAB_PROGRESS = previous;
  }
}
