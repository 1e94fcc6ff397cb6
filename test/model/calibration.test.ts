import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lineRateDps, udpFraming } from "../../src/model/kernel/wire.js";
import { loadProfile, PROFILES_DIR } from "../../src/model/profile.js";
import { reproduceTable, trendChecks } from "../../src/model/scenarios/reproduce.js";
import { SEED_TABLE } from "../../src/model/scenarios/seed-table.js";

describe("the calibrated seed-experiment profile", () => {
  it("reproduces the seed's 60 cells with the error its fit recorded, and the seed's trend", async () => {
    const profile = loadProfile("seed-experiment");
    const raw = JSON.parse(readFileSync(join(PROFILES_DIR, "seed-experiment.json"), "utf8")) as {
      fit?: { mapePercent?: { overall: number } };
    };
    const sizes = [...new Set(SEED_TABLE.map((r) => r.size))];
    const flows = [...new Set(SEED_TABLE.map((r) => r.flows))];
    const r = await reproduceTable({ profile, sizes, flows, jobs: 2 });
    assert.equal(r.cellsCompared, 60);
    const recorded = raw.fit?.mapePercent?.overall;
    assert.equal(typeof recorded, "number", "the profile records its fit error");
    assert.ok(
      Math.abs((r.mape.overall as number) - (recorded as number)) < 0.5,
      `now ${r.mape.overall}%, recorded ${recorded}%`,
    );
    // the fit may not explain low figures by a throttled sender: every cell offers at least what
    // the seed saw delivered there (within the model's rounding of the rate to whole frames)
    for (const row of r.rows) {
      if (!row.seed) continue;
      const most = Math.max(row.seed.vanilla, row.seed.guestThreaded, row.seed.bothThreaded);
      const offered = Math.min(...Object.values(row.cells).map((c) => c.offeredKpps));
      assert.ok(offered >= most * 0.999, `${row.size}/${row.flows}: offered ${offered} < ${most}`);
    }
    const line = (size: number) =>
      lineRateDps(udpFraming(size, profile.figures.mtu), profile.figures.wireBitsPerSecond) / 1000;
    for (const c of trendChecks(r.rows, line)) assert.ok(c.holds, `${c.name}: ${c.detail}`);
  });
});
