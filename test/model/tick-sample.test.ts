import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cpu, IrqAction } from "../../src/model/kernel/cpu.js";
import { EventQueue } from "../../src/model/kernel/events.js";
import { Kernel } from "../../src/model/kernel/kernel.js";
import { loadProfile } from "../../src/model/profile.js";
import { runBenchCell } from "../../src/model/scenarios/bench-host.js";

const vethHost = loadProfile("veth-host-prior");

/** CPU 1 runs a task that never sleeps; at 1 ms another CPU sends it an IPI taken `latencyNs` later. */
function ipiOnBusyCpu(latencyNs: number) {
  const q = new EventQueue();
  const k = new Kernel(q, {
    name: "t",
    cpus: 2,
    figures: { ...vethHost.figures, irqTimeAccounting: 0 },
    policy: "6.5",
    fairClass: "eevdf",
  });
  const task = k.createTask("busy", "hog", { policy: "other", nice: 0 }, [1], {
    body: function* () {
      while (true) yield 1_000_000;
    },
    preemptible: true,
  });
  k.wake(task);
  const cpu = k.cpus[1] as Cpu;
  const ipi: IrqAction = {
    name: "ipi",
    costNs: 2_000,
    handler: () => {},
  };
  q.runUntil(1_000_000);
  cpu.resetStats();
  cpu.sendIpi(ipi, latencyNs);
  q.runUntil(1_200_000);
  cpu.flush();
  return cpu;
}

describe("the tick-sampled softirq share (account_process_tick without IRQ time accounting)", () => {
  it("counts the time an IPI is on its way to a busy CPU, whose tick is taken after it", () => {
    const late = ipiOnBusyCpu(50_000);
    const now = ipiOnBusyCpu(0);
    // the hardirq itself: a tick due then is taken at its exit
    assert.equal(now.hardirqNs, 2_000);
    assert.equal(now.tickSoftirqNs, 2_000);
    assert.equal(late.hardirqNs, 2_000);
    assert.equal(late.tickSoftirqNs, 52_000);
    // it is a sample, not time: no softirq ran
    assert.equal(late.softirqNs, 0);
  });

  it("is what a bench-mirror cell reports as softirq without IRQ time accounting, and time with it", () => {
    const run = (irqTimeAccounting: number) =>
      runBenchCell({
        profile: { ...vethHost, figures: { ...vethHost.figures, irqTimeAccounting, ipiLatencyNs: 25_000 } },
        mode: "softirq",
        size: 512,
        flows: 1,
        rxCpus: [1],
        txCpus: [0],
        durationNs: 30_000_000,
        warmupNs: 10_000_000,
      });
    const sampled = run(0).perCpu[1];
    const timed = run(1).perCpu[1];
    assert.ok(sampled && timed);
    assert.equal(sampled.irqPct, 0, "a tick never lands inside a hardirq");
    assert.ok(timed.irqPct > 0);
    // the RPS IPIs on their way to the rx CPU add to the sample what the time does not hold
    assert.ok(
      sampled.softirqPct > timed.softirqPct + timed.irqPct + 5,
      `sampled ${sampled.softirqPct}%, timed ${timed.softirqPct}% + ${timed.irqPct}%`,
    );
  });
});
