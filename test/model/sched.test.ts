import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventQueue } from "../../src/model/kernel/events.js";
import { hog, kernel, shares } from "./helpers.js";

describe("event queue", () => {
  it("runs events in time order, and same-time events in the order they were scheduled", () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.at(30, () => seen.push("c"));
    q.at(10, () => seen.push("a1"));
    q.at(20, () => seen.push("b"));
    q.at(10, () => seen.push("a2"));
    q.at(10, () => q.at(10, () => seen.push("a3 (scheduled during a1's time)")));
    q.runUntil(100);
    assert.deepEqual(seen, ["a1", "a2", "a3 (scheduled during a1's time)", "b", "c"]);
    assert.equal(q.now, 100);
  });
});

describe("fair class (EEVDF)", () => {
  it("shares one CPU between two nice-0 hogs equally", () => {
    const { q, k } = kernel(1);
    const a = hog(k, "a", { policy: "other", nice: 0 });
    const b = hog(k, "b", { policy: "other", nice: 0 });
    k.wake(a);
    k.wake(b);
    const [sa, sb] = shares(k, q, [a, b], 20e6, 200e6);
    assert.ok(Math.abs((sa as number) - 0.5) < 0.03, `a got ${sa}`);
    assert.ok(Math.abs((sb as number) - 0.5) < 0.03, `b got ${sb}`);
  });

  it("shares by weight: nice 0 (1024) against nice 5 (335) is about 3:1", () => {
    const { q, k } = kernel(1);
    const a = hog(k, "a", { policy: "other", nice: 0 });
    const b = hog(k, "b", { policy: "other", nice: 5 });
    k.wake(a);
    k.wake(b);
    const [sa, sb] = shares(k, q, [a, b], 20e6, 300e6);
    const ratio = (sa as number) / (sb as number);
    assert.ok(ratio > 2.7 && ratio < 3.4, `ratio ${ratio}, expected about ${1024 / 335}`);
  });

  it("the CFS variant also shares by weight", () => {
    const { q, k } = kernel(1, { fairClass: "cfs" });
    const a = hog(k, "a", { policy: "other", nice: 0 });
    const b = hog(k, "b", { policy: "other", nice: 5 });
    k.wake(a);
    k.wake(b);
    const [sa, sb] = shares(k, q, [a, b], 20e6, 300e6);
    const ratio = (sa as number) / (sb as number);
    assert.ok(ratio > 2.6 && ratio < 3.5, `ratio ${ratio}`);
  });
});

describe("real-time and deadline classes", () => {
  it("a SCHED_FIFO task beats fair tasks completely", () => {
    const { q, k } = kernel(1);
    const rt = hog(k, "rt", { policy: "fifo", priority: 10 });
    const fair = hog(k, "fair", { policy: "other", nice: -20 });
    k.wake(fair);
    k.wake(rt);
    const [srt, sfair] = shares(k, q, [rt, fair], 5e6, 100e6);
    assert.ok((srt as number) > 0.99, `fifo got ${srt}`);
    assert.ok((sfair as number) < 0.01, `fair got ${sfair}`);
  });

  it("SCHED_RR tasks of one priority take turns", () => {
    const { q, k } = kernel(1);
    const a = hog(k, "a", { policy: "rr", priority: 5 });
    const b = hog(k, "b", { policy: "rr", priority: 5 });
    k.wake(a);
    k.wake(b);
    const [sa, sb] = shares(k, q, [a, b], 0, 1e9);
    assert.ok(Math.abs((sa as number) - 0.5) < 0.06, `a got ${sa}`);
    assert.ok(Math.abs((sb as number) - 0.5) < 0.06, `b got ${sb}`);
  });

  it("a SCHED_DEADLINE task gets its runtime per period and is throttled beyond it", () => {
    const { q, k } = kernel(1);
    const dl = hog(k, "dl", { policy: "deadline", runtimeNs: 2e6, deadlineNs: 10e6, periodNs: 10e6 });
    const fair = hog(k, "fair", { policy: "other", nice: 0 });
    k.wake(fair);
    k.wake(dl);
    const [sdl, sfair] = shares(k, q, [dl, fair], 10e6, 200e6);
    assert.ok(Math.abs((sdl as number) - 0.2) < 0.02, `deadline task got ${sdl}, expected 2ms/10ms`);
    assert.ok((sfair as number) > 0.75, `fair task got ${sfair}`);
  });

  it("affinity keeps a task on its allowed CPUs", () => {
    const { q, k } = kernel(2);
    const a = hog(k, "a", { policy: "other", nice: 0 }, [1]);
    const b = hog(k, "b", { policy: "other", nice: 0 }, [1]);
    k.wake(a);
    k.wake(b);
    shares(k, q, [a, b], 5e6, 50e6);
    assert.equal(a.cpu, 1);
    assert.equal(b.cpu, 1);
    assert.ok((k.cpus[0]?.idleNs ?? 0) > 49e6, "CPU 0 stays idle");
  });

  it("an unpinned task woken while its CPU is busy goes to an idle CPU", () => {
    const { q, k } = kernel(2);
    const a = hog(k, "a", { policy: "other", nice: 0 }, null);
    const b = hog(k, "b", { policy: "other", nice: 0 }, null);
    k.wake(a);
    k.wake(b);
    const [sa, sb] = shares(k, q, [a, b], 5e6, 50e6);
    assert.notEqual(a.cpu, b.cpu);
    assert.ok((sa as number) > 0.95 && (sb as number) > 0.95);
  });
});
