import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { FLOOD_CASES, floodGolden, seedGolden } from "./cases.js";

const dir = dirname(fileURLToPath(import.meta.url));
const golden = (file: string) => readFileSync(join(dir, file), "utf8");

// Speed work must not move a single figure: the whole result, serialised, is compared byte for byte.
describe("golden results (regenerate only for a model change: npm run golden:update)", () => {
  for (const name of Object.keys(FLOOD_CASES)) {
    it(`sim flood ${name}`, () => {
      assert.equal(floodGolden(name), golden(`flood-${name}.json`));
    });
  }
  it("all 90 cells of napilab reproduce", () => {
    assert.equal(seedGolden(), golden("seed-90-cells.json"));
  });
});
