import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { listNapi } from "../../src/linux/napi.js";
import { readDeviceKnob, setNapiIrqKnobs, validateNapiIrqKnobs } from "../../src/linux/napi-irq.js";
import { withSysfs } from "../../src/linux/sysfs.js";
import { createVethBed, runCli, type VethBed } from "./fixture.js";

/** The knobs as the kernel reports them: napi-get through `ip`-free netlink, and sysfs. */
function sysfsKnobs(ns: string, dev: string) {
  return withSysfs(ns, (root) => ({
    defer: readDeviceKnob(root, dev, "napi_defer_hard_irqs"),
    gro: readDeviceKnob(root, dev, "gro_flush_timeout"),
  }));
}

describe("napi set IRQ knobs on a real veth (own namespaces)", () => {
  let bed: VethBed;
  before(() => {
    bed = createVethBed(2);
  });
  after(() => bed?.cleanup());

  it("a DEV target sets defer-hard-irqs and gro-flush-timeout device-wide through sysfs, read back per NAPI", () => {
    const changes = setNapiIrqKnobs(
      "vb",
      { deferHardIrqs: 3, groFlushTimeoutNs: 150_000 },
      { netns: bed.nsB },
    );
    assert.equal(changes.length, 2, "one change per NAPI of vb");
    for (const c of changes) {
      assert.equal(c.after.deferHardIrqs, 3);
      assert.equal(c.after.groFlushTimeoutNs, 150_000);
      assert.equal(c.via.deferHardIrqs, "sysfs");
    }
    // independent read-back: sysfs and a fresh napi-get dump
    assert.deepEqual(sysfsKnobs(bed.nsB, "vb"), { defer: 3, gro: 150_000 });
    for (const n of listNapi({ netns: bed.nsB, ifname: "vb" })) {
      assert.equal(n.deferHardIrqs, 3);
      assert.equal(n.groFlushTimeoutNs, 150_000);
    }
  });

  it("a DEV/ID target sets one NAPI through napi-set, leaving the others and sysfs alone", () => {
    const napis = listNapi({ netns: bed.nsB, ifname: "vb" });
    const [first, second] = napis;
    assert.ok(first && second);
    const changes = setNapiIrqKnobs(
      `vb/${first.id}`,
      { deferHardIrqs: 7, groFlushTimeoutNs: 20_000, irqSuspendTimeoutNs: 5_000_000 },
      { netns: bed.nsB },
    );
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.via.deferHardIrqs, "netlink");
    const now = new Map(listNapi({ netns: bed.nsB, ifname: "vb" }).map((n) => [n.id, n]));
    assert.equal(now.get(first.id)?.deferHardIrqs, 7);
    assert.equal(now.get(first.id)?.groFlushTimeoutNs, 20_000);
    assert.equal(now.get(first.id)?.irqSuspendTimeoutNs, 5_000_000);
    assert.equal(now.get(second.id)?.deferHardIrqs, second.deferHardIrqs, "the other NAPI is untouched");
    assert.equal(now.get(second.id)?.irqSuspendTimeoutNs, second.irqSuspendTimeoutNs);
    assert.equal(sysfsKnobs(bed.nsB, "vb").defer, 3, "the device value stays");
  });

  it("an unknown NAPI id changes nothing", () => {
    const beforeList = listNapi({ netns: bed.nsB, ifname: "vb" });
    assert.throws(
      () => setNapiIrqKnobs(["vb", "vb/999999"], { deferHardIrqs: 9 }, { netns: bed.nsB }),
      /no NAPI 999999/,
    );
    assert.deepEqual(
      listNapi({ netns: bed.nsB, ifname: "vb" }).map((n) => n.deferHardIrqs),
      beforeList.map((n) => n.deferHardIrqs),
    );
  });

  it("the CLI sets and reads back, with --json and a table", () => {
    const r = runCli([
      "napi",
      "set",
      "vb",
      "--defer-hard-irqs",
      "2",
      "--gro-flush-timeout",
      "200us",
      "--netns",
      bed.nsB,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { after: { deferHardIrqs: number; groFlushTimeoutNs: number } }[];
    assert.ok(doc.length >= 1);
    for (const c of doc) assert.deepEqual([c.after.deferHardIrqs, c.after.groFlushTimeoutNs], [2, 200_000]);
    const t = runCli(["napi", "set", "vb", "--gro-flush-timeout", "0", "--netns", bed.nsB]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /AFTER \(read back\)/);
    assert.match(t.stdout, /gro 0/);
    const out = execFileSync("ip", ["netns", "exec", bed.nsB, "cat", "/sys/class/net/vb/gro_flush_timeout"], {
      encoding: "utf8",
    });
    assert.equal(out.trim(), "0");
  });

  it("bad input fails before touching the host", () => {
    assert.throws(() => validateNapiIrqKnobs({}), /nothing to set/);
    assert.throws(() => validateNapiIrqKnobs({ deferHardIrqs: 2 ** 31 }), /--defer-hard-irqs/);
    const r = runCli(["napi", "set", "vb", "--defer-hard-irqs", "-3", "--netns", bed.nsB]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^napilab: .*--defer-hard-irqs/);
    const both = runCli([
      "napi",
      "set",
      "vb",
      "--threaded",
      "enabled",
      "--defer-hard-irqs",
      "1",
      "--netns",
      bed.nsB,
    ]);
    assert.equal(both.code, 2);
    const none = runCli(["napi", "set", "vb", "--netns", bed.nsB]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--threaded or an IRQ knob/);
  });
});
