import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FloodOptions, runFlood } from "../../src/model/scenarios/flood.js";
import { profile } from "./helpers.js";

const base: FloodOptions = {
  profile,
  cpus: 1,
  mode: "softirq",
  ratePps: 4e6,
  size: 64,
  flows: 16,
  durationNs: 30e6,
  warmupNs: 10e6,
  softirqPolicy: "4.9",
};

describe("time_squeeze counts budget or time cut-offs of net_rx_action, not overload as such", () => {
  it("1 CPU, 1 queue: 0 squeezes even with ksoftirqd busy and the ring dropping", () => {
    const r = runFlood({ ...base, queues: 1 });
    const c = r.cpu[0];
    assert.ok(c && c.ksoftirqd > 20, `ksoftirqd share ${c?.ksoftirqd}`);
    assert.ok(r.drops.ringPps > 1e6, `ring drops ${r.drops.ringPps}`);
    // a weight-exhausted NAPI goes to repoll, not back on the list: one poll per net_rx_action
    assert.equal(r.softnet[0]?.timeSqueeze, 0);
  });

  it("8 queues on 1 CPU: the budget (300) runs out within one pass and time_squeeze counts", () => {
    const r = runFlood({ ...base, queues: 8 });
    const s = r.softnet[0];
    assert.ok(s && s.timeSqueeze > 0 && s.squeezeBudget > 0, JSON.stringify(s));
  });
});
