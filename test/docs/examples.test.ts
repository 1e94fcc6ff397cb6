/**
 * Every example in docs/commands/*.md was produced by a real run (npm run docs:examples); this test
 * reruns each command and fails when the output's shape (words, columns, JSON keys; not the figures)
 * no longer matches what the page shows.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type Bed,
  createBed,
  docFiles,
  examplesOf,
  runExample,
  shapeOf,
} from "../../scripts/lib/doc-examples.js";

const isRoot = process.getuid?.() === 0;

// the bench example records its run in a state directory of this test's own, so a bench running
// elsewhere on the host neither blocks it nor is touched by it
const stateDir = mkdtempSync(join(tmpdir(), "napilab-docs-state-"));
process.env.NAPILAB_STATE_DIR = stateDir;
after(() => rmSync(stateDir, { recursive: true, force: true }));

describe("docs/commands examples match the program", () => {
  it("every command page carries real examples", () => {
    for (const file of docFiles())
      assert.ok(examplesOf(file).length > 0, `${basename(file)} has no marked example`);
  });

  for (const file of docFiles()) {
    describe(basename(file), () => {
      let bed: Bed | null = null;
      after(() => bed?.cleanup());
      for (const ex of examplesOf(file)) {
        const title = `napilab ${ex.args.join(" ")}`;
        it(title, { skip: ex.root && !isRoot ? "needs root" : false }, () => {
          if (ex.bed && !bed) bed = createBed("test");
          const r = runExample(ex, ex.bed ? bed : null, ex.testArgs);
          assert.equal(r.code, 0, `${title}: ${r.stderr}`);
          assert.deepEqual(
            shapeOf(r.stdout),
            shapeOf(ex.documented),
            `${basename(file)}:${ex.line + 1}: the output of '${title}' no longer has the documented shape; run npm run docs:examples`,
          );
        });
      }
    });
  }
});

describe("shapeOf", () => {
  it("ignores figures but not columns or words", () => {
    assert.deepEqual(shapeOf(" a  1.5M  (+3%)\n b  2k  (0)"), ["a # #", "b # #"]);
    assert.notDeepEqual(shapeOf("MODE SIZE\nx 1"), shapeOf("MODE SIZE OTHER%\nx 1"));
    assert.deepEqual(shapeOf("x 1\nx 2\nx 3"), shapeOf("x 7"), "repeated rows count once");
    assert.deepEqual(shapeOf('{"a": 1, "b": [{"c": 2}]}'), shapeOf('{"b": [{"c": 5}, {"c": 6}], "a": 9}'));
    assert.notDeepEqual(shapeOf('{"a": 1}'), shapeOf('{"a": 1, "d": 2}'));
  });
});
