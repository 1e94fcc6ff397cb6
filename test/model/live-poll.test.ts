import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runFlood } from "../../src/model/scenarios/flood.js";
import { profile } from "./helpers.js";

describe("driver poll: frames that land during the poll are cleaned in the same poll", () => {
  it("1 CPU at 1.2M pps (about 70% softirq): polls are longer than one coalescing gap of frames, IRQs rarer", () => {
    const durationNs = 50e6;
    const rate = 1.2e6;
    const r = runFlood({
      profile,
      cpus: 1,
      mode: "softirq",
      ratePps: rate,
      size: 64,
      flows: 1,
      durationNs,
      warmupNs: 10e6,
      softirqPolicy: "pre-4.9",
    });
    const n = r.napis[0];
    assert.ok(n && n.polls > 0);
    const atIrq = (rate * profile.figures.coalesceNs) / 1e9; // frames present when a moderated IRQ fires
    const maxIrqs = durationNs / profile.figures.coalesceNs;
    assert.ok(
      n.packets / n.polls > 1.15 * atIrq,
      `${(n.packets / n.polls).toFixed(1)} frames per poll, ${atIrq} at IRQ time`,
    );
    assert.ok(n.irqs < 0.85 * maxIrqs, `${n.irqs} IRQs, rx-usecs allows ${maxIrqs}`);
  });
});
