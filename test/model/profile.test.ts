import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InputError } from "../../src/core/errors.js";
import { CORE_FIGURES, loadProfile } from "../../src/model/profile.js";

describe("profiles", () => {
  it("the default profile defines every figure with its provenance", () => {
    const p = loadProfile("default");
    for (const k of CORE_FIGURES) {
      assert.equal(typeof p.figures[k], "number", k);
      assert.ok((p.provenance[k] ?? "").length > 10, `provenance of ${k}`);
    }
  });

  it("a profile can extend another and override figures", () => {
    const dir = mkdtempSync(join(tmpdir(), "napilab-prof-"));
    const path = join(dir, "mine.json");
    writeFileSync(
      path,
      JSON.stringify({
        name: "mine",
        description: "test",
        extends: "default",
        figures: { hz: { value: 250, provenance: "a test" } },
      }),
    );
    const p = loadProfile(path);
    assert.equal(p.figures.hz, 250);
    assert.equal(p.provenance.hz, "a test");
    assert.equal(p.figures.netdevBudget, 300);
  });

  it("rejects unknown names, unknown figures and figures without provenance", () => {
    assert.throws(() => loadProfile("nope"), InputError);
    const dir = mkdtempSync(join(tmpdir(), "napilab-prof-"));
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({
        name: "b",
        description: "d",
        extends: "default",
        figures: { warp: { value: 1, provenance: "x" } },
      }),
    );
    assert.throws(() => loadProfile(bad), /unknown figure 'warp'/);
    writeFileSync(
      bad,
      JSON.stringify({ name: "b", description: "d", extends: "default", figures: { hz: { value: 1 } } }),
    );
    assert.throws(() => loadProfile(bad), /malformed/);
  });
});
