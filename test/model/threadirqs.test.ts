import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cpu } from "../../src/model/kernel/cpu.js";
import { Napi, type NapiDriver, napiCompleteDone, napiSchedule } from "../../src/model/kernel/napi.js";
import { SLEEP } from "../../src/model/kernel/task.js";
import { IrqThread } from "../../src/model/kernel/threadirqs.js";
import { runFlood } from "../../src/model/scenarios/flood.js";
import { kernel, profile } from "./helpers.js";

/** A driver with a backlog; records the context of each poll. */
class Driver implements NapiDriver {
  pending = 0;
  log: string[] = [];
  *poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void> {
    const work = Math.min(budget, this.pending);
    const c = cpu.curr;
    this.log.push(
      c === null
        ? "softirq@irq-exit"
        : c.softirqCtx > 0
          ? `bh-enable:${c.name}`
          : c === cpu.ksoftirqd
            ? "ksoftirqd"
            : c.name,
    );
    yield 200 + work * 100;
    this.pending -= work;
    if (work < budget) napiCompleteDone(n, cpu, work);
    return work;
  }
}

function setup() {
  const { q, k } = kernel(1);
  const drv = new Driver();
  const n = new Napi(k, 1, "eth0-rx-0", drv, 64);
  return { q, k, drv, n };
}

describe("threadirqs (forced irq threading)", () => {
  it("the irq thread runs the handler and then NET_RX at its local_bh_enable, in thread context", () => {
    const { q, k, drv, n } = setup();
    k.forceIrqThreads = true;
    const it = new IrqThread(k, { irq: 40, name: "eth0-rx-0", cpu: 0, handler: (c) => napiSchedule(n, c) });
    assert.equal(it.task.name, "irq/40-eth0-rx-0");
    assert.deepEqual(it.task.policy, { policy: "fifo", priority: 50 });
    drv.pending = 10;
    const cpu = k.cpus[0] as Cpu;
    // the hardirq runs only the primary handler: wake the thread
    cpu.raiseIrq({ name: "rx", costNs: 500, handler: () => it.wake() });
    q.runUntil(100_000);
    assert.equal(it.runs, 1);
    assert.deepEqual(drv.log, ["bh-enable:irq/40-eth0-rx-0"]);
    assert.equal(drv.pending, 0);
  });

  it("under the 4.9 softirq policy the irq thread's BH enable defers to a runnable ksoftirqd", () => {
    const { q, k } = kernel(1, { policy: "4.9" });
    const drv = new Driver();
    const n = new Napi(k, 1, "eth0-rx-0", drv, 64);
    k.forceIrqThreads = true;
    const it = new IrqThread(k, { irq: 40, name: "eth0-rx-0", cpu: 0, handler: (c) => napiSchedule(n, c) });
    drv.pending = 10;
    const cpu = k.cpus[0] as Cpu;
    // a FIFO task holds the CPU for 50 us, so a woken ksoftirqd stays runnable but waiting
    const rt = k.createTask("rt", "other", { policy: "fifo", priority: 10 }, [0], {
      body: function* () {
        yield 50_000;
        for (;;) yield SLEEP;
      },
      preemptible: true,
    });
    k.wake(rt);
    q.runUntil(1_000);
    k.wake(cpu.ksoftirqd); // ksoftirqd_running() is true when the irq thread re-enables BHs
    cpu.raiseIrq({ name: "rx", costNs: 500, handler: () => it.wake() });
    q.runUntil(200_000);
    assert.equal(it.runs, 1);
    assert.deepEqual(drv.log, ["ksoftirqd"], "NET_RX left to ksoftirqd ('let ksoftirqd do its job')");
  });

  it("a FIFO irq thread preempts a fair task at once", () => {
    const { q, k, n } = setup();
    k.forceIrqThreads = true;
    const it = new IrqThread(k, { irq: 40, name: "eth0-rx-0", cpu: 0, handler: (c) => napiSchedule(n, c) });
    const hog = k.createTask("hog", "hog", { policy: "other", nice: 0 }, [0], {
      body: function* () {
        for (;;) yield 1_000_000;
      },
      preemptible: true,
    });
    k.wake(hog);
    q.runUntil(10_000);
    let ranAt = -1;
    const cpu = k.cpus[0] as Cpu;
    q.at(20_000, () =>
      cpu.raiseIrq({
        name: "rx",
        costNs: 500,
        handler: () => {
          it.wake();
          q.at(q.now + 1, () => {
            if (cpu.curr === it.task) ranAt = q.now;
          });
        },
      }),
    );
    q.runUntil(100_000);
    assert.ok(ranAt > 0 && ranAt < 25_000, `irq thread on CPU at ${ranAt}`);
  });

  it("with force_irqthreads a softirq raised in a real hardirq is left to ksoftirqd (invoke_softirq)", () => {
    const { q, k, drv, n } = setup();
    drv.pending = 10;
    k.forceIrqThreads = true;
    (k.cpus[0] as Cpu).raiseIrq({ name: "hrtimer", costNs: 500, handler: (c) => napiSchedule(n, c) });
    q.runUntil(100_000);
    assert.deepEqual(drv.log, ["ksoftirqd"]);
  });

  it("without it the same softirq runs at irq exit", () => {
    const { q, k, drv, n } = setup();
    drv.pending = 10;
    (k.cpus[0] as Cpu).raiseIrq({ name: "hrtimer", costNs: 500, handler: (c) => napiSchedule(n, c) });
    q.runUntil(100_000);
    assert.deepEqual(drv.log, ["softirq@irq-exit"]);
  });

  it("a flood in threadirqs mode runs the irq thread per queue and reports its time", () => {
    const r = runFlood({
      profile,
      cpus: 2,
      mode: "softirq",
      threadirqs: true,
      ratePps: 200_000,
      size: 64,
      flows: 4,
      durationNs: 10e6,
    });
    const threads = r.modes?.irqThreads ?? [];
    assert.deepEqual(
      threads.map((t) => [t.name, t.cpu]),
      [
        ["irq/40-eth0-rx-0", 0],
        ["irq/41-eth0-rx-1", 1],
      ],
    );
    // every queue that received packets had its handler run in its irq thread
    r.napis.forEach((n, i) => {
      if (n.packets > 0) assert.ok((threads[i]?.runs ?? 0) > 0, `${n.name} packets ${n.packets}`);
    });
    assert.ok(threads.some((t) => t.runs > 0));
    assert.ok(r.cpu.some((c) => (c.irqThreads ?? 0) > 0));
    assert.ok(r.deliveredPps > 0.99 * 200_000);
  });
});
