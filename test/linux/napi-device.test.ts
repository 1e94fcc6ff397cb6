/**
 * Device-target semantics of `napi set` and the scheduling classes batch/idle (issues 9 and 10),
 * asserted against the kernel (sysfs, sched_getattr through /proc), not napilab's read-back.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { createVethBed, runCli, type VethBed } from "./fixture.js";

/** What the kernel holds in /sys/class/net/DEV/threaded, read from inside the namespace. */
function sysfsThreaded(ns: string, dev: string): string {
  return execFileSync("ip", ["netns", "exec", ns, "cat", `/sys/class/net/${dev}/threaded`], {
    encoding: "utf8",
  }).trim();
}

/** The kernel's policy number of a task (field 41 of /proc/PID/stat): 0 other, 3 batch, 5 idle. */
function kernelPolicy(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[38]); // field 41 counted from 1, minus pid and comm
}

function kernelNice(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[16]); // field 19
}

function flap(ns: string, dev: string): void {
  execFileSync("ip", ["-n", ns, "link", "set", dev, "down"]);
  execFileSync("ip", ["-n", ns, "link", "set", dev, "up"]);
}

interface Row {
  id: number;
  pid: number | null;
  threaded: string;
  deviceThreaded?: string;
  policy: unknown;
}

describe("napi set DEV is the device-wide switch; napi sched knows batch and idle", () => {
  let bed: VethBed;
  before(() => {
    bed = createVethBed(2);
  });
  after(() => bed?.cleanup());
  const list = (): Row[] =>
    JSON.parse(runCli(["napi", "list", "--netns", bed.nsB, "--json"]).stdout) as Row[];

  it("writes /sys/class/net/DEV/threaded, so NAPIs re-created by a link flap come back threaded", () => {
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "0");
    const r = runCli(["napi", "set", "vb", "--threaded", "enabled", "--netns", bed.nsB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /device switch \/sys\/class\/net\/vb\/threaded: disabled -> enabled/);
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "1");
    const old = list().map((n) => n.id);
    flap(bed.nsB, "vb");
    const now = list();
    assert.equal(now.length, 2);
    assert.ok(
      now.every((n) => !old.includes(n.id)),
      "the flap re-created the NAPIs",
    );
    assert.ok(now.every((n) => n.threaded === "enabled" && n.pid !== null && n.deviceThreaded === "enabled"));
  });

  it("keeps a DEV/ID target per NAPI and the device switch untouched; --via netlink on DEV too", () => {
    const [first] = list();
    assert.ok(first);
    const r = runCli(["napi", "set", `vb/${first.id}`, "--threaded", "disabled", "--netns", bed.nsB]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "1");
    const n = runCli(["napi", "set", "vb", "--threaded", "disabled", "--via", "netlink", "--netns", bed.nsB]);
    assert.equal(n.code, 0, n.stderr);
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "1");
    assert.ok(list().every((x) => x.threaded === "disabled"));
    flap(bed.nsB, "vb");
    assert.ok(
      list().every((x) => x.threaded === "enabled"),
      "new NAPIs take the device switch's mode",
    );
  });

  it("applies SCHED_BATCH for --policy batch and SCHED_IDLE for --policy idle, and lists them as such", () => {
    const [a, b] = list();
    assert.ok(a?.pid && b?.pid);
    const batch = runCli([
      "napi",
      "sched",
      `vb/${a.id}`,
      "--policy",
      "batch",
      "--nice",
      "5",
      "--netns",
      bed.nsB,
    ]);
    assert.equal(batch.code, 0, batch.stderr);
    assert.equal(kernelPolicy(a.pid), 3);
    assert.equal(kernelNice(a.pid), 5);
    const idle = runCli(["napi", "sched", `vb/${b.id}`, "--policy", "idle", "--netns", bed.nsB]);
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(kernelPolicy(b.pid), 5);
    const rows = list();
    assert.deepEqual(rows.find((x) => x.id === a.id)?.policy, { policy: "batch", nice: 5 });
    assert.deepEqual(rows.find((x) => x.id === b.id)?.policy, { policy: "idle" });
    const table = runCli(["napi", "list", "--netns", bed.nsB]).stdout;
    assert.match(table, /batch nice 5/);
    assert.match(table, /\bidle\b/);
    assert.doesNotMatch(table, /other nice 0/);
    const bad = runCli(["napi", "sched", "vb", "--policy", "idle", "--nice", "3", "--netns", bed.nsB]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^napilab: --nice does not apply to --policy idle/);
  });
});
