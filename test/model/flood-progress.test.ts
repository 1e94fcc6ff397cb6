import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FloodOptions, type FloodResult, runFlood } from "../../src/model/scenarios/flood.js";
import { profile } from "./helpers.js";

const base: FloodOptions = {
  profile,
  cpus: 2,
  mode: "threaded",
  ratePps: 1.4e6,
  size: 64,
  flows: 25,
  durationNs: 30e6,
  warmupNs: 10e6,
};

/** The result without the wall-clock figure, the one thing allowed to differ between runs. */
function comparable(r: FloodResult): unknown {
  return { ...r, sim: { ...r.sim, wallMs: 0 } };
}

describe("sim flood progress", () => {
  it("reports the share of simulated time done, rising to 1", () => {
    const shares: number[] = [];
    runFlood({ ...base, onProgress: (s) => shares.push(s) });
    assert.ok(shares.length >= 50, `${shares.length} reports`);
    for (let i = 1; i < shares.length; i++) assert.ok((shares[i] as number) >= (shares[i - 1] as number));
    assert.ok((shares[0] as number) > 0);
    assert.equal(shares.at(-1), 1);
  });
  it("watching the progress changes nothing in the result (same events, same order)", () => {
    for (const mode of ["softirq", "threaded"] as const) {
      const plain = runFlood({ ...base, mode });
      const watched = runFlood({ ...base, mode, onProgress: () => {} });
      assert.deepEqual(comparable(watched), comparable(plain), mode);
    }
  });
});
