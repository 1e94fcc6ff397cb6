import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { otherWorkOf } from "../../src/bench/calibrate.js";
import type { Cell } from "../../src/bench/run.js";

/** A bench cell's per-CPU figures as the bench measured them (softirq 64 B, 1 flow, bench-quiet-1). */
const cell = {
  perCpu: [
    {
      cpu: 0,
      busyPct: 100,
      softirqPct: 44.3,
      irqPct: 0,
      receiversPct: 0,
      senderPct: 87.5,
      napiKthreadPct: 0,
      ksoftirqdPct: 0,
    },
    {
      cpu: 1,
      busyPct: 93.5,
      softirqPct: 88,
      irqPct: 0,
      receiversPct: 61.4,
      senderPct: 0,
      napiKthreadPct: 0,
      ksoftirqdPct: 1.4,
    },
  ],
  foreignPct: 0,
} as unknown as Cell;

describe("other work in a bench cell, per CPU (calibrate's otherWorkOf)", () => {
  it("without IRQ time accounting: busy less the tasks' schedstat, which already holds their softirqs", () => {
    // the bench's OTHER% read 0 here (it subtracts the softirq share a second time), yet the sender
    // waited 11.5% and the receiver 29% of the window: other work ran on both CPUs
    assert.deepEqual(otherWorkOf(cell, 2, false), [12.5, 30.7]);
  });

  it("with IRQ time accounting: the softirq and irq shares are not in any task's time, so they come off too", () => {
    assert.deepEqual(otherWorkOf(cell, 2, true), [0, 0]);
  });

  it("a CPU the bench did not report has none", () => {
    assert.deepEqual(otherWorkOf(cell, 3, false), [12.5, 30.7, 0]);
  });
});
