import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventQueue } from "../../src/model/kernel/events.js";
import { attachVcpu, vcpuBody } from "../../src/model/kernel/hypervisor.js";
import { Kernel } from "../../src/model/kernel/kernel.js";
import { hogBody } from "../../src/model/kernel/receivers.js";
import { SLEEPING } from "../../src/model/kernel/task.js";
import { loadProfile } from "../../src/model/profile.js";
import { reproduceTable } from "../../src/model/scenarios/reproduce.js";
import { runSeedCell, senderRateDps } from "../../src/model/scenarios/seed.js";
import { profile } from "./helpers.js";

const seedProfile = loadProfile("seed-experiment");

function hostAndGuest() {
  const q = new EventQueue();
  const f = profile.figures;
  const host = new Kernel(q, { name: "host", cpus: 1, figures: f, policy: "6.5" });
  const guest = new Kernel(q, { name: "guest", cpus: 1, figures: f, policy: "6.5", virtual: true });
  const gcpu = guest.cpus[0];
  if (!gcpu) throw new Error("no guest cpu");
  const vcpu = host.createTask("vcpu0", "vcpu", { policy: "other", nice: 0 }, null, {
    body: () => vcpuBody(host, gcpu),
    preemptible: true,
  });
  attachVcpu(host, vcpu, gcpu);
  host.start();
  guest.start();
  return { q, host, guest, vcpu, gcpu };
}

describe("virtual CPUs", () => {
  it("a guest advances only while its vCPU thread runs on a host CPU", () => {
    const { q, host, guest, vcpu, gcpu } = hostAndGuest();
    const hostHog = host.createTask("hog", "hog", { policy: "other", nice: 0 }, null, {
      body: () => hogBody(),
      preemptible: true,
    });
    const guestHog = guest.createTask("ghog", "hog", { policy: "other", nice: 0 }, null, {
      body: () => hogBody(),
      preemptible: true,
    });
    host.wake(hostHog);
    guest.wake(guestHog);
    host.wake(vcpu);
    q.runUntil(200e6);
    for (const c of [...host.cpus, ...guest.cpus]) c.flush();
    // the host shares its CPU between the hog and the vCPU thread; the guest gets only the vCPU's share
    assert.ok(Math.abs(vcpu.sumExecNs / 200e6 - 0.5) < 0.05, `vcpu ran ${vcpu.sumExecNs}`);
    assert.ok(guestHog.sumExecNs <= vcpu.sumExecNs, "guest work never exceeds its vCPU's run time");
    assert.ok(
      guestHog.sumExecNs > 0.9 * vcpu.sumExecNs,
      `guest hog ${guestHog.sumExecNs} of ${vcpu.sumExecNs}`,
    );
    assert.ok(gcpu.pausedNs > 80e6, "the guest CPU stood still while the host ran its hog");
  });

  it("an idle guest halts: its vCPU thread sleeps and the host CPU idles", () => {
    const { q, host, vcpu } = hostAndGuest();
    host.wake(vcpu);
    q.runUntil(50e6);
    for (const c of host.cpus) c.flush();
    assert.equal(vcpu.state, SLEEPING);
    assert.ok((host.cpus[0]?.idleNs ?? 0) > 49e6);
  });

  it("a guest interrupt wakes a halted vCPU thread (kvm_vcpu_kick)", () => {
    const { q, host, vcpu, gcpu } = hostAndGuest();
    host.wake(vcpu);
    q.runUntil(1e6);
    let handled = -1;
    q.at(5e6, () => gcpu.raiseIrq({ name: "virtio", costNs: 1000, handler: () => (handled = q.now) }));
    q.runUntil(10e6);
    assert.ok(handled > 5e6 && handled < 5.1e6, `handled at ${handled}`);
    assert.equal(vcpu.state, SLEEPING, "halted again afterwards");
  });
});

describe("the seed experiment", () => {
  it("the sender is capped by the 10G line rate for large payloads", () => {
    const r = senderRateDps(seedProfile, 64000, 25);
    assert.ok(r > 18e3 && r < 19e3, `offered ${r}`);
    const cell = runSeedCell({
      profile: seedProfile,
      size: 64000,
      flows: 25,
      config: "bothThreaded",
      durationNs: 20e6,
    });
    assert.ok(cell.kpps <= 18.9 && cell.kpps > 15, `delivered ${cell.kpps} kpps`);
  });

  it("a cell is deterministic, and worker threads give the same table as one thread", async () => {
    const a = runSeedCell({
      profile: seedProfile,
      size: 256,
      flows: 25,
      config: "vanilla",
      durationNs: 20e6,
    });
    const b = runSeedCell({
      profile: seedProfile,
      size: 256,
      flows: 25,
      config: "vanilla",
      durationNs: 20e6,
    });
    assert.deepEqual(a, b);
    const o = { profile: seedProfile, sizes: [256], flows: [1, 25], durationNs: 10e6 };
    const inline = await reproduceTable({ ...o, jobs: 0 });
    const pooled = await reproduceTable({ ...o, jobs: 2 });
    assert.deepEqual(
      inline.rows.map((r) => [r.vanilla, r.guestThreaded, r.bothThreaded]),
      pooled.rows.map((r) => [r.vanilla, r.guestThreaded, r.bothThreaded]),
    );
    assert.equal(inline.cellsCompared, 6);
  });

  it("threading the guest's NAPI helps a single-vCPU guest under a many-flow flood", () => {
    const o = { profile: seedProfile, size: 1, flows: 25, durationNs: 30e6 };
    const vanilla = runSeedCell({ ...o, config: "vanilla" });
    const both = runSeedCell({ ...o, config: "bothThreaded" });
    assert.ok(both.kpps > 1.5 * vanilla.kpps, `vanilla ${vanilla.kpps}, both threaded ${both.kpps}`);
  });
});
