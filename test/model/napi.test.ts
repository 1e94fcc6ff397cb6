import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cpu } from "../../src/model/kernel/cpu.js";
import {
  Napi,
  type NapiDriver,
  napiCompleteDone,
  napiSchedule,
  napiSetMode,
  napiThreadBody,
} from "../../src/model/kernel/napi.js";
import type { Task } from "../../src/model/kernel/task.js";
import { kernel } from "./helpers.js";

/** A driver with a backlog of `pending` packets at 500 ns each; records where each poll ran. */
class FakeDriver implements NapiDriver {
  pending = 0;
  log: string[] = [];
  *poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void> {
    const work = Math.min(budget, this.pending);
    this.log.push(
      n.thread !== null && cpu.curr === n.thread
        ? "thread"
        : cpu.curr === cpu.ksoftirqd
          ? "ksoftirqd"
          : "softirq",
    );
    yield 200 + work * 500;
    this.pending -= work;
    if (work < budget) napiCompleteDone(n, cpu);
    return work;
  }
}

function setup() {
  const { q, k } = kernel(1);
  const drv = new FakeDriver();
  const n = new Napi(k, 1, "fake", drv, 64);
  const makeThread = (napi: Napi): Task =>
    k.createTask("napi/fake-1", "napi", { policy: "other", nice: 0 }, null, {
      body: (t) => napiThreadBody(k, napi, t),
      preemptible: false,
    });
  const irq = () =>
    (k.cpus[0] as Cpu).raiseIrq({ name: "fake", costNs: 500, handler: (c) => napiSchedule(n, c) });
  return { q, k, drv, n, makeThread, irq };
}

describe("NAPI", () => {
  it("a second schedule while SCHED is set only records MISSED, and completion reschedules", () => {
    const { q, drv, n, irq } = setup();
    drv.pending = 10;
    irq();
    irq(); // arrives while the first is being handled: NAPI already scheduled
    q.runUntil(1e6);
    assert.equal(drv.pending, 0);
    // first poll completes with MISSED set, so it is polled again before being released
    assert.equal(drv.log.length, 2);
    assert.equal(n.sched, false);
    assert.equal(n.missed, false);
  });

  it("switching to threaded takes effect at the next schedule, not in the middle of polling", () => {
    const { q, drv, n, irq, makeThread } = setup();
    drv.pending = 64 * 20;
    irq();
    q.runUntil(20_000); // a few polls in softirq
    assert.ok(drv.log.length >= 1 && !drv.log.some((w) => w !== "softirq"));
    napiSetMode(n, "threaded", makeThread);
    assert.equal(n.mode, "threaded");
    const before = drv.log.length;
    q.runUntil(2e6);
    const afterSwitch = drv.log.slice(before);
    assert.ok(afterSwitch.length > 0);
    assert.ok(!afterSwitch.includes("thread"), "still polled by softirq until it completes");
    assert.equal(drv.pending, 0);
    const done = drv.log.length;
    drv.pending = 100;
    irq();
    q.runUntil(4e6);
    assert.deepEqual(drv.log.slice(done), ["thread", "thread"]);
  });

  it("switching back to softirq hands a busy kthread's instance to NET_RX", () => {
    const { q, drv, n, irq, makeThread } = setup();
    napiSetMode(n, "threaded", makeThread);
    drv.pending = 64 * 50;
    irq();
    q.runUntil(30_000);
    assert.ok(drv.log.includes("thread"));
    napiSetMode(n, "softirq", makeThread);
    const before = drv.log.length;
    q.runUntil(5e6);
    const after = drv.log.slice(before);
    assert.equal(drv.pending, 0);
    assert.ok(after.length >= 2);
    assert.ok(
      after.slice(1).every((w) => w !== "thread"),
      `after the switch: ${after.join(",")}`,
    );
  });

  it("in busy-poll mode the kthread keeps polling without interrupts", () => {
    const { q, k, drv, n, irq, makeThread } = setup();
    napiSetMode(n, "busy-poll", makeThread);
    drv.pending = 10;
    irq();
    q.runUntil(1e6);
    k.resetStats();
    q.runUntil(11e6);
    for (const c of k.cpus) c.flush();
    assert.ok(drv.log.length > 100, `polls: ${drv.log.length}`);
    assert.equal(n.sched, true, "a busy poller never releases the instance");
    assert.ok((n.thread?.sumExecNs ?? 0) > 9e6, "the kthread spins on the CPU");
  });
});
