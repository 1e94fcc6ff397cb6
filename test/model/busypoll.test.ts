import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BUSY_POLL_BUDGET,
  type BusyPollSettings,
  busyPollStop,
  napiBusyLoop,
} from "../../src/model/kernel/busypoll.js";
import type { Cpu } from "../../src/model/kernel/cpu.js";
import type { Kernel } from "../../src/model/kernel/kernel.js";
import {
  Napi,
  type NapiDriver,
  napiCompleteDone,
  napiSchedule,
  napiSetMode,
  napiThreadBody,
} from "../../src/model/kernel/napi.js";
import { attachNapiKnobs, NO_KNOBS } from "../../src/model/kernel/napi-timer.js";
import { doSoftirq } from "../../src/model/kernel/softirq.js";
import { SLEEP, type Task } from "../../src/model/kernel/task.js";
import { runFlood } from "../../src/model/scenarios/flood.js";
import { kernel, profile } from "./helpers.js";

/** A driver with a backlog; records where each poll ran and re-arms (counts) like a NIC driver. */
class Driver implements NapiDriver {
  pending = 0;
  rearms = 0;
  log: { at: number; ctx: string; work: number }[] = [];
  *poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void> {
    const work = Math.min(budget, this.pending);
    const c = cpu.curr;
    const ctx =
      c === null || c.softirqCtx === 0
        ? c === cpu.ksoftirqd
          ? "ksoftirqd"
          : c === null
            ? "softirq"
            : `task:${c.name}`
        : `softirq-in:${c.name}`;
    this.log.push({ at: cpu.k.q.now, ctx, work });
    yield 200 + work * 100;
    this.pending -= work;
    if (work < budget && napiCompleteDone(n, cpu, work)) this.rearms++;
    return work;
  }
}

function setup(cpus = 1) {
  const { q, k } = kernel(cpus);
  const drv = new Driver();
  const n = new Napi(k, 1, "eth0-rx-0", drv, 64);
  return { q, k, drv, n };
}

/** A user task that runs `body` once (then sleeps for good). */
function once(k: Kernel, body: (t: Task) => Generator<number, void, void>): Task {
  const t = k.createTask("poller", "receiver", { policy: "other", nice: 0 }, [0], {
    body: function* (task) {
      yield* body(task);
      for (;;) yield SLEEP;
    },
    preemptible: true,
  });
  k.wake(t);
  return t;
}

describe("busy_poll_stop hand-off", () => {
  it("without prefer busy poll, a poll that used the whole budget goes to NET_RX on the poller's CPU", () => {
    const { q, k, drv, n } = setup();
    drv.pending = 1000;
    n.sched = true;
    n.inBusyPoll = true; // a busy poller owns it
    const s: BusyPollSettings = { napi: n, busyNs: 0, prefer: false, budget: BUSY_POLL_BUDGET };
    once(k, (t) => busyPollStop(k, t, s));
    q.runUntil(20_000);
    assert.equal(drv.log[0]?.ctx, "task:poller", "busy_poll_stop polls once from the task");
    assert.equal(drv.log[0]?.work, BUSY_POLL_BUDGET);
    // __napi_schedule + local_bh_enable: NET_RX runs in the poller's context right away
    assert.equal(drv.log[1]?.ctx, "softirq-in:poller");
    assert.equal(n.inBusyPoll, false);
  });

  it("with prefer busy poll and defer_hard_irqs + gro_flush_timeout, the NAPI is left to the watchdog", () => {
    const { q, k, drv, n } = setup();
    const tun = attachNapiKnobs(n, { deferHardIrqs: 2, groFlushTimeoutNs: 100_000, irqSuspendTimeoutNs: 0 });
    drv.pending = 1000;
    n.sched = true;
    n.inBusyPoll = true;
    const s: BusyPollSettings = { napi: n, busyNs: 0, prefer: true, budget: BUSY_POLL_BUDGET };
    once(k, (t) => busyPollStop(k, t, s));
    q.runUntil(50_000);
    assert.equal(drv.log.length, 1, "no softirq poll before the timer");
    assert.equal(n.sched, false, "__busy_poll_stop clears SCHED (skip_schedule)");
    assert.equal(k.cpus[0]?.pollList.length, 0);
    assert.ok(tun.expires > 0, "watchdog armed");
    q.runUntil(150_000);
    assert.equal(tun.timerFires, 1);
    const second = drv.log[1];
    assert.ok(second, "the watchdog scheduled a poll");
    assert.ok(second.at >= 100_000, `polled at ${second.at}`);
    assert.equal(second.ctx, "softirq", "napi_watchdog raises NET_RX in hardirq: it runs at irq exit");
  });

  it("with prefer busy poll but defer_hard_irqs 0, busy_poll_stop reschedules into softirq as without", () => {
    const { q, k, drv, n } = setup();
    const tun = attachNapiKnobs(n, { deferHardIrqs: 0, groFlushTimeoutNs: 100_000, irqSuspendTimeoutNs: 0 });
    drv.pending = 1000;
    n.sched = true;
    n.inBusyPoll = true;
    once(k, (t) => busyPollStop(k, t, { napi: n, busyNs: 0, prefer: true, budget: BUSY_POLL_BUDGET }));
    q.runUntil(20_000);
    assert.equal(drv.log[1]?.ctx, "softirq-in:poller");
    assert.equal(tun.timerFires, 0);
  });

  it("irq_suspend_timeout takes precedence over gro_flush_timeout in busy_poll_stop", () => {
    const { q, k, drv, n } = setup();
    const tun = attachNapiKnobs(n, {
      deferHardIrqs: 0,
      groFlushTimeoutNs: 100_000,
      irqSuspendTimeoutNs: 1_000_000,
    });
    drv.pending = 1000;
    n.sched = true;
    n.inBusyPoll = true;
    once(k, (t) => busyPollStop(k, t, { napi: n, busyNs: 0, prefer: true, budget: BUSY_POLL_BUDGET }));
    q.runUntil(500_000);
    assert.equal(drv.log.length, 1);
    assert.ok(tun.expires >= 1_000_000, `expires ${tun.expires}`);
  });

  it("a busy loop that is asked to reschedule releases the NAPI first (busy_poll_stop, then cond_resched)", () => {
    const { q, k, drv, n } = setup();
    drv.pending = 0;
    const s: BusyPollSettings = { napi: n, busyNs: 1_000_000, prefer: false, budget: BUSY_POLL_BUDGET };
    let owner: boolean[] = [];
    const poller = once(k, (t) => napiBusyLoop(k, t, s, () => false, 1_000_000));
    // a FIFO task wakes on the same CPU at 100 us: need_resched while the loop owns the NAPI
    const rt = k.createTask("rt", "other", { policy: "fifo", priority: 10 }, [0], {
      body: function* () {
        owner = [n.sched, n.inBusyPoll];
        yield 10_000;
        for (;;) yield SLEEP;
      },
      preemptible: true,
    });
    q.at(100_000, () => k.wake(rt));
    q.runUntil(120_000);
    assert.deepEqual(owner, [false, false], "the NAPI was released before the switch");
    assert.ok(poller.slices >= 1);
    assert.ok(drv.rearms >= 1, "busy_poll_stop's poll completed and re-armed the IRQ");
  });
});

describe("napi_complete_done with napi_defer_hard_irqs", () => {
  it("keeps the IRQ masked for defer_hard_irqs empty polls, the counter reaching zero re-arms it", () => {
    const { q, k, n } = setup();
    const cpu = k.cpus[0] as Cpu;
    const tun = attachNapiKnobs(n, { deferHardIrqs: 2, groFlushTimeoutNs: 50_000, irqSuspendTimeoutNs: 0 });
    n.sched = true;
    assert.equal(napiCompleteDone(n, cpu, 5), false, "work done: counter reloaded to 2, decremented, timer");
    assert.equal(tun.deferCount, 1);
    assert.equal(n.sched, false);
    assert.ok(tun.expires === q.now + 50_000);
    n.sched = true;
    assert.equal(napiCompleteDone(n, cpu, 0), false, "empty poll: 1 -> 0, still deferred");
    assert.equal(tun.deferCount, 0);
    n.sched = true;
    tun.cancel();
    assert.equal(napiCompleteDone(n, cpu, 0), true, "counter at zero: the driver re-arms its IRQ");
    assert.equal(tun.expires, -1, "and no watchdog is armed");
  });

  it("without a gro_flush_timeout the counter alone defers nothing", () => {
    const { k, n } = setup();
    const tun = attachNapiKnobs(n, { deferHardIrqs: 5, groFlushTimeoutNs: 0, irqSuspendTimeoutNs: 0 });
    n.sched = true;
    assert.equal(napiCompleteDone(n, k.cpus[0] as Cpu, 3), true);
    assert.equal(tun.expires, -1);
  });

  it("MISSED reschedules instead of arming the watchdog", () => {
    const { k, n } = setup();
    const cpu = k.cpus[0] as Cpu;
    const tun = attachNapiKnobs(n, { deferHardIrqs: 2, groFlushTimeoutNs: 50_000, irqSuspendTimeoutNs: 0 });
    n.sched = true;
    n.missed = true;
    assert.equal(napiCompleteDone(n, cpu, 1), false);
    assert.equal(n.sched, true);
    assert.deepEqual(cpu.pollList, [n]);
    assert.equal(tun.expires, -1);
  });

  it("end to end: watchdog polls replace IRQs while deferring, and the IRQ comes back when idle", () => {
    const { q, k, drv, n } = setup();
    attachNapiKnobs(n, { deferHardIrqs: 3, groFlushTimeoutNs: 20_000, irqSuspendTimeoutNs: 0 });
    const cpu = k.cpus[0] as Cpu;
    drv.pending = 10;
    cpu.raiseIrq({ name: "rx", costNs: 500, handler: (c) => napiSchedule(n, c) });
    q.runUntil(1_000_000);
    // one poll with work, then 3 empty watchdog polls; the last one re-arms the IRQ
    assert.deepEqual(
      drv.log.map((e) => e.work),
      [10, 0, 0, 0],
    );
    assert.equal(drv.rearms, 1);
    for (let i = 1; i < 4; i++) {
      const gap = (drv.log[i]?.at ?? 0) - (drv.log[i - 1]?.at ?? 0);
      assert.ok(gap >= 20_000, `watchdog gap ${gap}`);
    }
  });
});

describe("preferred busy polling in net_rx_action (__napi_poll)", () => {
  it("a full-budget poll with PREFER_BUSY_POLL set completes (timer armed) instead of repolling", () => {
    const { q, k, drv, n } = setup();
    const tun = attachNapiKnobs(n, { deferHardIrqs: 2, groFlushTimeoutNs: 100_000, irqSuspendTimeoutNs: 0 });
    drv.pending = 10_000;
    const cpu = k.cpus[0] as Cpu;
    napiSchedule(n, cpu);
    tun.preferBusyPoll = true; // a busy poller found it owned and set the bit
    const gen = doSoftirq(k, cpu);
    for (let r = gen.next(); !r.done; r = gen.next()) q.now += r.value;
    assert.equal(drv.log.length, 1, "polled once, not repolled");
    assert.equal(tun.preferExits, 1);
    assert.equal(n.sched, false);
    assert.equal(tun.preferBusyPoll, false, "napi_complete_done clears the bit");
    assert.ok(tun.expires > 0);
  });

  it("the napi kthread (napi_threaded_poll_loop -> __napi_poll) gives the instance up the same way", () => {
    const { q, k, drv, n } = setup();
    const tun = attachNapiKnobs(n, { deferHardIrqs: 2, groFlushTimeoutNs: 100_000, irqSuspendTimeoutNs: 0 });
    drv.pending = 10_000;
    napiSetMode(n, "threaded", (napi) =>
      k.createTask("napi/eth0-1", "napi", { policy: "other", nice: 0 }, null, {
        body: (t) => napiThreadBody(k, napi, t),
        preemptible: false,
      }),
    );
    const cpu = k.cpus[0] as Cpu;
    napiSchedule(n, cpu);
    tun.preferBusyPoll = true;
    q.runUntil(50_000);
    assert.equal(drv.log.length, 1, "one poll, then the thread let go");
    assert.equal(drv.log[0]?.ctx, "task:napi/eth0-1");
    assert.equal(n.sched, false);
    assert.equal(tun.preferExits, 1);
    q.runUntil(120_000);
    assert.ok(drv.log.length >= 2, "the watchdog woke the thread after gro_flush_timeout");
    assert.ok((drv.log[1]?.at ?? 0) >= 100_000);
  });

  it("without the bit a full-budget poll is repolled as before", () => {
    const { q, k, drv, n } = setup();
    attachNapiKnobs(n, NO_KNOBS);
    drv.pending = 200;
    const cpu = k.cpus[0] as Cpu;
    napiSchedule(n, cpu);
    const gen = doSoftirq(k, cpu);
    for (let r = gen.next(); !r.done; r = gen.next()) q.now += r.value;
    assert.deepEqual(
      drv.log.map((e) => e.work),
      [64, 64, 64, 8],
    );
  });
});

describe("receiver variants in a flood", () => {
  const base = {
    profile,
    cpus: 1,
    mode: "softirq" as const,
    ratePps: 300_000,
    size: 64,
    flows: 1,
    durationNs: 10e6,
  };

  it("preferred busy polling with deferral keeps the NIC IRQ off; plain busy polling re-arms it", () => {
    const plain = runFlood({ ...base, receiver: "blocking", busyReadNs: 50_000 });
    const prefer = runFlood({
      ...base,
      receiver: "blocking",
      busyReadNs: 50_000,
      preferBusyPoll: true,
      deferHardIrqs: 2,
      groFlushTimeoutNs: 200_000,
    });
    assert.ok((plain.napis[0]?.irqs ?? 0) > 100, `plain irqs ${plain.napis[0]?.irqs}`);
    assert.equal(prefer.napis[0]?.irqs, 0);
    assert.ok((prefer.modes?.napiTimers[0]?.deferredCompletions ?? 0) > 0);
    assert.ok(prefer.deliveredPps > 0.99 * base.ratePps);
  });

  it("a non-blocking receiver never sleeps; a blocking one does", () => {
    const nb = runFlood({ ...base, receiver: "nonblocking" });
    const b = runFlood({ ...base, receiver: "blocking" });
    const nbTask = nb.tasks.find((t) => t.name === "netserver-0");
    const bTask = b.tasks.find((t) => t.name === "netserver-0");
    assert.equal(nbTask?.wakeups, 0);
    assert.ok((bTask?.wakeups ?? 0) > 0);
    assert.ok((nb.cpu[0]?.idle ?? 100) < 1, "the spinner leaves no idle time");
    assert.ok((b.cpu[0]?.idle ?? 0) > 10);
  });

  it("epoll with irq_suspend_timeout suspends IRQs while events keep coming", () => {
    const r = runFlood({
      ...base,
      receiver: "epoll",
      busyReadNs: 50_000,
      preferBusyPoll: true,
      deferHardIrqs: 2,
      groFlushTimeoutNs: 200_000,
      irqSuspendTimeoutNs: 20_000_000,
    });
    assert.equal(r.napis[0]?.irqs, 0);
    assert.ok(r.deliveredPps > 0.99 * base.ratePps);
  });

  it("epoll resumes IRQs when its busy loop finds nothing (napi_resume_irqs), not only at irq_suspend_timeout", () => {
    const r = runFlood({
      ...base,
      ratePps: 1000,
      durationNs: 50e6,
      receiver: "epoll",
      busyReadNs: 50_000,
      preferBusyPoll: true,
      deferHardIrqs: 2,
      groFlushTimeoutNs: 200_000,
      irqSuspendTimeoutNs: 20_000_000,
    });
    assert.equal(r.deliveredPps, 1000);
    assert.equal(r.napis[0]?.irqs, 50, "one NIC IRQ per datagram once idle");
    // without the resume each datagram would wait for the 20 ms safety timer
    assert.ok(r.latency.p99Us < 2000, `p99 ${r.latency.p99Us} us`);
  });

  it("a run without any modes option has no modes fields (results as before)", () => {
    const r = runFlood(base);
    assert.equal("modes" in r, false);
    assert.equal("modes" in r.config, false);
    assert.equal("p999Us" in r.latency, false);
    assert.equal("irqThreads" in (r.cpu[0] ?? {}), false);
  });
});
