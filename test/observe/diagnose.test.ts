/** Diagnoses on hand-made views: each appears when its condition holds and not otherwise. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diagnose } from "../../src/observe/diagnose.js";
import type { CpuView, NapiView, View } from "../../src/observe/rates.js";

function napi(id: number, o: Partial<NapiView> = {}): NapiView {
  return {
    ifname: "eth0",
    ifindex: 2,
    id,
    rxQueues: [id - 8193],
    threaded: "enabled",
    mode: "threaded",
    pid: 1000 + id,
    kthread: `napi/eth0-${id}`,
    cpu: 1,
    cpusAllowed: [0, 1, 2, 3],
    policy: "other",
    cpuPct: 45,
    waitPct: 2,
    switchesPerSec: 100,
    pps: null,
    ppsSource: null,
    totals: null,
    ...o,
  };
}

function cpu(n: number, busyPct: number, o: Partial<CpuView> = {}): CpuView {
  return {
    cpu: n,
    busyPct,
    softirqPct: 0,
    irqPct: 0,
    ksoftirqdPct: 0,
    napiPct: 0,
    netRxPerSec: 0,
    processedPerSec: 0,
    dropsPerSec: 0,
    squeezesPerSec: 0,
    backlogLen: 0,
    ...o,
  };
}

const view = (napis: NapiView[], cpus: CpuView[], extra: Partial<View> = {}): View => ({
  intervalNs: 1e9,
  napis,
  cpus,
  devices: [],
  udp: null,
  notes: [],
  ...extra,
});
const kinds = (v: View) => diagnose(v).map((d) => `${d.kind} ${d.subject}`);
const idleHost = [cpu(0, 5), cpu(1, 95), cpu(2, 10), cpu(3, 90)];

describe("diagnoses", () => {
  it("busy NAPI threads on one CPU while an allowed CPU idles: one line with the numbers", () => {
    const v = view([napi(8193), napi(8194, { cpuPct: 40 })], idleHost);
    const d = diagnose(v);
    assert.equal(d.length, 1);
    assert.equal(d[0]?.kind, "napi-threads-share-cpu");
    assert.equal(d[0]?.subject, "cpu1");
    assert.match(
      d[0]?.message ?? "",
      /CPU 1 runs 2 busy NAPI threads \(napi\/eth0-8193 45%, napi\/eth0-8194 40%; 85% together\)/,
    );
    assert.match(d[0]?.message ?? "", /CPU 0,2 are 95% idle/);
    assert.match(d[0]?.message ?? "", /napilab napi pin eth0\/8194 --cpus 0/);
    assert.deepEqual(d[0]?.values, { cpu: 1, threads: 2, threadsCpuPct: 85, idleCpu: 0, idlePct: 95 });
  });

  it("no sharing diagnosis when the threads are spread, idle, or no other CPU has room", () => {
    assert.deepEqual(kinds(view([napi(8193, { cpu: 1 }), napi(8194, { cpu: 2 })], idleHost)), []);
    assert.deepEqual(kinds(view([napi(8193), napi(8194, { cpuPct: 3 })], idleHost)), []);
    const busy = [cpu(0, 90), cpu(1, 95), cpu(2, 85), cpu(3, 99)];
    assert.deepEqual(kinds(view([napi(8193), napi(8194)], busy)), []);
  });

  it("pinned all to one CPU: names the pinning and looks at every other online CPU", () => {
    const v = view([napi(8193, { cpusAllowed: [1] }), napi(8194, { cpusAllowed: [1] })], idleHost);
    const d = diagnose(v);
    assert.equal(d[0]?.kind, "napi-threads-share-cpu");
    assert.match(d[0]?.message ?? "", /all pinned to it/);
  });

  it("ksoftirqd saturated", () => {
    const v = view([], [cpu(0, 100, { ksoftirqdPct: 92, squeezesPerSec: 0 }), cpu(1, 10)]);
    assert.deepEqual(kinds(v), ["ksoftirqd-saturated cpu0"]);
    assert.match(diagnose(v)[0]?.message ?? "", /ksoftirqd\/0 used 92% of CPU 0/);
  });

  it("a NAPI thread that waits more than it runs is starved; one that mostly runs is not", () => {
    assert.deepEqual(kinds(view([napi(8193, { cpuPct: 12, waitPct: 30 })], idleHost)), [
      "napi-thread-starved eth0/8193",
    ]);
    assert.deepEqual(kinds(view([napi(8193, { cpuPct: 60, waitPct: 30 })], idleHost)), []);
    assert.deepEqual(kinds(view([napi(8193, { cpuPct: 1, waitPct: 2 })], idleHost)), []);
  });

  it("squeezes, backlog drops, device drops and UDP buffer errors growing", () => {
    const v = view(
      [],
      [cpu(0, 50, { squeezesPerSec: 12, dropsPerSec: 3, processedPerSec: 1e5 }), cpu(1, 50)],
      {
        devices: [{ ifname: "eth0", rxPps: 1e6, rxBytesPerSec: 1e9, rxDropsPerSec: 40 }],
        udp: { rcvbufErrorsPerSec: 500, inErrorsPerSec: 500 },
      },
    );
    assert.deepEqual(kinds(v), [
      "softnet-squeeze cpu0",
      "softnet-drops cpu0",
      "device-rx-drops eth0",
      "udp-rcvbuf-errors udp",
    ]);
    assert.match(diagnose(v)[0]?.message ?? "", /12\.0 time squeezes\/s/);
  });

  it("a threaded device whose NAPI lost its mode, affinity or class", () => {
    const quiet = { cpuPct: 1 };
    const mode = view(
      [
        napi(8193, quiet),
        napi(8194, quiet),
        napi(8195, { threaded: "disabled", mode: "softirq", pid: null, cpuPct: null }),
      ],
      idleHost,
    );
    assert.deepEqual(kinds(mode), ["napi-settings-lost eth0/8195"]);
    const affinity = view(
      [
        napi(8193, { ...quiet, cpusAllowed: [2] }),
        napi(8194, { ...quiet, cpusAllowed: [3] }),
        napi(8195, quiet),
      ],
      idleHost,
    );
    assert.deepEqual(kinds(affinity), ["napi-settings-lost eth0/8195"]);
    assert.match(diagnose(affinity)[0]?.message ?? "", /affinity was reset/);
    const cls = view(
      [napi(8193, { ...quiet, policy: "fifo 50" }), napi(8194, { ...quiet, policy: "other" })],
      idleHost,
    );
    assert.deepEqual(kinds(cls), ["napi-settings-lost eth0/8194"]);
    // consistent siblings: nothing to report
    const fine = view(
      [napi(8193, { ...quiet, cpusAllowed: [2] }), napi(8194, { ...quiet, cpusAllowed: [3] })],
      idleHost,
    );
    assert.deepEqual(kinds(fine), []);
  });
});

describe("screen text", () => {
  it("wraps long diagnosis lines at the terminal width, keeping every word", async () => {
    const { wrap } = await import("../../src/observe/render.js");
    const text =
      "! napi/vb-1004 waited for a CPU 17% of the time and ran 3%: give it a CPU (napilab napi pin vb/1004)";
    const lines = wrap(text, 40);
    assert.ok(lines.length > 1);
    for (const l of lines) assert.ok(l.length <= 40, l);
    assert.equal(lines.map((l) => l.trim()).join(" "), text);
    assert.deepEqual(wrap(text, undefined), [text]);
  });
});
