import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { HostError, InputError } from "../../src/core/errors.js";
import {
  enterNetns,
  getSchedPolicy,
  kernelCaps,
  libc,
  listNapi,
  type NapiInfo,
  NetdevClient,
  onlineCpus,
  pinNapi,
  readDeviceThreaded,
  schedNapi,
  setAffinity,
  setSchedPolicy,
  setThreaded,
  threadCpusAllowed,
  withNetns,
  withSysfs,
} from "../../src/linux/index.js";
import { createVethBed, type VethBed } from "./fixture.js";

const cpus = onlineCpus();
const QUEUES = 3;
/**
 * A tiny SCHED_DEADLINE reservation (0.1% of a CPU). Tests keep reservations tiny: on Linux 6.18 a
 * reservation given to an idle NAPI kthread is not returned to the admission pool when the thread
 * leaves SCHED_DEADLINE (it never ran, so no 0-lag timer releases it).
 */
const TINY_DL = {
  policy: "deadline",
  runtimeNs: 10_000,
  deadlineNs: 10_000_000,
  periodNs: 10_000_000,
} as const;

/** Whether the host admits a tiny deadline reservation now (probed on a throwaway child process). */
function deadlineBandwidthLeft(): boolean {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    setSchedPolicy(child.pid as number, TINY_DL);
    return true;
  } catch (err) {
    if (err instanceof HostError && /EBUSY/.test(err.message)) return false;
    throw err;
  } finally {
    child.kill("SIGKILL");
  }
}

function nsInode(): number {
  return statSync("/proc/thread-self/ns/net").ino;
}

function vbNapis(bed: VethBed): NapiInfo[] {
  return listNapi({ netns: bed.nsB, ifname: "vb" });
}

describe("linux host control (real kernel, own namespaces)", () => {
  let bed: VethBed;
  before(() => {
    bed = createVethBed(QUEUES);
  });
  after(() => bed?.cleanup());

  it("detects what the kernel supports from the netdev family and napi-set policy", () => {
    const c = kernelCaps({ netns: bed.nsB });
    assert.equal(c.netdevFamily, true);
    assert.equal(c.napiGet, true);
    assert.equal(c.deviceControl, c.napiSetThreaded ? "netlink" : "sysfs");
    assert.equal(
      c.notes.some((n) => /busy-poll/.test(n)),
      !c.busyPoll,
    );
  });

  it("lists one NAPI per rx queue of a GRO veth, only from the named namespace", () => {
    const list = listNapi({ netns: bed.nsB });
    assert.equal(list.length, QUEUES);
    for (const n of list) {
      assert.equal(n.ifname, "vb");
      assert.equal(n.netns, bed.nsB);
      assert.equal(n.threaded, "disabled");
      assert.equal(n.pid, null);
      assert.equal(n.irq, null); // veth has no interrupt
    }
    assert.equal(new Set(list.map((n) => n.id)).size, QUEUES);
  });

  it("says that GRO or XDP is needed for a veth without NAPI", () => {
    assert.throws(
      () => listNapi({ netns: bed.nsA, ifname: "va" }),
      (e: Error) => e instanceof HostError && /GRO/.test(e.message),
    );
  });

  it("rejects unknown devices, NAPI ids and namespaces before changing anything", () => {
    assert.throws(() => setThreaded("nodev0", "enabled", { netns: bed.nsB }), InputError);
    assert.throws(() => setThreaded(["vb", "vb/1"], "enabled", { netns: bed.nsB }), /no NAPI id 1/);
    assert.throws(() => listNapi({ netns: "napilab-test-does-not-exist" }), InputError);
    assert.throws(() => setThreaded("a/b/c", "enabled", { netns: bed.nsB }), InputError);
    assert.ok(
      vbNapis(bed).every((n) => n.threaded === "disabled"),
      "a rejected change must not apply anything",
    );
  });

  it("switches a whole device to threaded and reports the kthreads the kernel created", () => {
    const changes = setThreaded("vb", "threaded", { netns: bed.nsB });
    assert.equal(changes.length, QUEUES);
    for (const c of changes) {
      assert.equal(c.before.threaded, "disabled");
      assert.equal(c.after.threaded, "enabled");
      assert.ok(c.after.pid !== null && c.after.pid > 0);
      assert.equal(c.after.kthread, `napi/vb-${c.after.id}`);
      assert.equal(readFileSync(`/proc/${c.after.pid}/comm`, "utf8").trim(), `napi/vb-${c.after.id}`);
    }
  });

  it("switches one NAPI instance back to softirq and leaves the others threaded", () => {
    const [first, ...rest] = vbNapis(bed);
    assert.ok(first);
    const changes = setThreaded(`vb/${first.id}`, "disabled", { netns: bed.nsB });
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.after.threaded, "disabled");
    const now = vbNapis(bed);
    assert.equal(now.find((n) => n.id === first.id)?.threaded, "disabled");
    for (const r of rest) assert.equal(now.find((n) => n.id === r.id)?.threaded, "enabled");
  });

  it("refuses to pin a NAPI that has no kthread", () => {
    const softirq = vbNapis(bed).find((n) => n.threaded === "disabled");
    assert.ok(softirq);
    assert.throws(() => pinNapi(`vb/${softirq.id}`, [0], { netns: bed.nsB }), /no kthread/);
  });

  it("switches through sysfs of the namespace and unmounts it afterwards", () => {
    const changes = setThreaded("vb", "enabled", { netns: bed.nsB, via: "sysfs" });
    assert.ok(changes.every((c) => c.after.threaded === "enabled" && c.after.pid !== null));
    assert.equal(
      withSysfs(bed.nsB, (root) => readDeviceThreaded(root, "vb")),
      "enabled",
    );
    assert.doesNotMatch(readFileSync("/proc/self/mountinfo", "utf8"), /napilab-sysfs-/);
  });

  it("refuses busy-poll when the kernel lacks it, and applies it when it has it", () => {
    const caps = kernelCaps({ netns: bed.nsB });
    const id = vbNapis(bed)[0]?.id;
    if (!caps.busyPoll) {
      assert.throws(() => setThreaded(`vb/${id}`, "busy-poll", { netns: bed.nsB }), /busy-poll/);
      assert.equal(vbNapis(bed)[0]?.threaded, "enabled");
    } else {
      const c = setThreaded(`vb/${id}`, "busy-poll", { netns: bed.nsB });
      assert.equal(c[0]?.after.threaded, "busy-poll");
      setThreaded(`vb/${id}`, "enabled", { netns: bed.nsB });
    }
  });

  it("pins kthreads to a CPU and reads the affinity back from the kernel", () => {
    const cpu = cpus[cpus.length - 1] as number;
    const changes = pinNapi("vb", [cpu], { netns: bed.nsB });
    for (const c of changes) {
      assert.deepEqual(c.after.cpus, [cpu]);
      assert.deepEqual(threadCpusAllowed(c.after.pid as number), [cpu]);
    }
    pinNapi("vb", cpus, { netns: bed.nsB });
    assert.ok(vbNapis(bed).every((n) => n.cpus?.length === cpus.length));
  });

  it("rejects a CPU list naming an offline or absent CPU", () => {
    assert.throws(
      () => pinNapi("vb", [cpus.length + 64], { netns: bed.nsB }),
      (e: Error) => e instanceof InputError && /offline/.test(e.message),
    );
  });

  it("sets other/nice, fifo and rr classes and reads them back", () => {
    const policies = [
      { policy: "other", nice: -3 },
      { policy: "fifo", priority: 10 },
      { policy: "rr", priority: 20 },
      { policy: "other", nice: 0 },
    ] as const;
    for (const p of policies) {
      const changes = schedNapi("vb", p, { netns: bed.nsB });
      assert.equal(changes.length, QUEUES);
      for (const c of changes) {
        assert.deepEqual(c.after.policy, p);
        assert.deepEqual(getSchedPolicy(c.after.pid as number), p);
      }
    }
  });

  it("gives one kthread a deadline reservation, or reports the kernel's refusal and changes nothing", () => {
    // the highest NAPI id: changes apply in id order, so the rollback test below fails on the last step
    const first = vbNapis(bed)
      .sort((a, b) => a.id - b.id)
      .at(-1);
    assert.ok(first?.pid);
    if (deadlineBandwidthLeft()) {
      const c = schedNapi(`vb/${first.id}`, TINY_DL, { netns: bed.nsB });
      assert.deepEqual(c[0]?.after.policy, TINY_DL);
    } else {
      assert.throws(() => schedNapi(`vb/${first.id}`, TINY_DL, { netns: bed.nsB }), /refused \(EBUSY\)/);
      assert.deepEqual(getSchedPolicy(first.pid), { policy: "other", nice: 0 });
    }
  });

  it("restores the earlier kthreads when a later one refuses (pinning a deadline kthread)", () => {
    const napis = vbNapis(bed);
    const dl = napis.find((n) => n.policy?.policy === "deadline");
    const others = napis.filter((n) => n !== dl);
    const targets = [...others.map((n) => `vb/${n.id}`), ...(dl ? [`vb/${dl.id}`] : [])];
    if (!dl) {
      // no deadline bandwidth on this host: the refusal path above was tested instead
      assert.equal(deadlineBandwidthLeft(), false);
      return;
    }
    // a SCHED_DEADLINE thread must keep every CPU of its root domain: pinning it fails (EBUSY)
    // after the others were pinned, and those are put back
    assert.throws(
      () => pinNapi(targets, [cpus[0] as number], { netns: bed.nsB }),
      (e: Error) => e instanceof HostError && /EBUSY/.test(e.message) && /restored/.test(e.message),
    );
    for (const n of vbNapis(bed)) assert.deepEqual(n.cpus, cpus);
  });

  it("reports a NAPI or thread that vanished with a clear message", () => {
    assert.throws(
      () =>
        withNetns(bed.nsB, () => {
          const c = new NetdevClient();
          try {
            c.setNapiThreaded(0x7ffffff0, "enabled");
          } finally {
            c.close();
          }
        }),
      (e: Error) => e instanceof HostError && /no longer exists/.test(e.message),
    );
    const child = spawnSync(process.execPath, ["-e", "0"]);
    assert.throws(() => setAffinity(child.pid as number, [0]), /no longer exists/);
  });

  it("deleting the device's namespace removes its NAPI kthreads", () => {
    const pids = vbNapis(bed).map((n) => n.pid as number);
    assert.ok(pids.length > 0 && pids.every((p) => p > 0));
    bed.cleanup();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && pids.some((p) => statSafe(`/proc/${p}`))) spawnSync("sleep", ["0.05"]);
    assert.ok(
      pids.every((p) => !statSafe(`/proc/${p}`)),
      "napi kthreads outlived their namespace",
    );
  });
});

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

describe("network namespace switching", () => {
  let bed: VethBed;
  before(() => {
    bed = createVethBed(1);
  });
  after(() => bed?.cleanup());

  it("enters a namespace for the call and restores the original one, also on throw", () => {
    const original = nsInode();
    assert.equal(libc.if_nametoindex("vb"), 0);
    assert.ok(withNetns(bed.nsB, () => libc.if_nametoindex("vb")) > 0);
    assert.equal(nsInode(), original);
    assert.throws(() =>
      withNetns(bed.nsB, () => {
        throw new Error("boom");
      }),
    );
    assert.equal(nsInode(), original);
    const restore = enterNetns(bed.nsA);
    assert.notEqual(nsInode(), original);
    restore();
    restore(); // idempotent
    assert.equal(nsInode(), original);
  });
});
