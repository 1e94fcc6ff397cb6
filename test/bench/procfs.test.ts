import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fitLinear } from "../../src/bench/calibrate.js";
import { measure, type Snapshot } from "../../src/bench/measure.js";
import { cpuMaskHex, parseBenchMode, parseCpuMaskHex } from "../../src/bench/modes.js";
import { type BenchOptions, validateBenchOptions } from "../../src/bench/options.js";
import { readCpuTimes, readSoftnet } from "../../src/bench/procfs.js";
import { InputError } from "../../src/core/errors.js";

describe("bench parsers", () => {
  it("reads per-CPU times from /proc/stat text in ns (USER_HZ ticks)", () => {
    const text = "cpu  10 0 20 300 0 0 5 0 0 0\ncpu0 4 1 10 150 0 0 3 0 0 0\ncpu1 6 0 10 150 0 2 2 0 0 0\n";
    const t = readCpuTimes(text);
    assert.equal(t.size, 2);
    assert.equal(t.get(0)?.user, 50_000_000);
    assert.equal(t.get(0)?.softirq, 30_000_000);
    assert.equal(t.get(1)?.irq, 20_000_000);
    assert.equal(t.get(1)?.total, 170 * 10_000_000);
  });

  it("reads softnet_stat hex columns, keyed by the CPU column when present", () => {
    const line = (cpu: number, processed: number, dropped: number, squeeze: number) =>
      [processed, dropped, squeeze, 0, 0, 0, 0, 0, 0, 7, 0, 0, cpu, 0, 0]
        .map((n) => n.toString(16).padStart(8, "0"))
        .join(" ");
    const s = readSoftnet(`${line(0, 255, 1, 2)}\n${line(3, 16, 0, 17)}\n`);
    assert.deepEqual(s.get(0), { processed: 255, dropped: 1, timeSqueeze: 2, receivedRps: 7, flowLimit: 0 });
    assert.equal(s.get(3)?.timeSqueeze, 17);
    assert.equal(s.has(1), false);
  });

  it("formats and parses RPS masks like the kernel's bitmaps", () => {
    assert.equal(cpuMaskHex([1]), "2");
    assert.equal(cpuMaskHex([]), "0");
    assert.equal(cpuMaskHex([0, 33]), "2,00000001");
    assert.deepEqual(parseCpuMaskHex("00000002"), [1]);
    assert.deepEqual(parseCpuMaskHex("2,00000001"), [0, 33]);
    assert.deepEqual(parseCpuMaskHex("0"), []);
  });

  it("parses bench modes and rejects others", () => {
    assert.equal(parseBenchMode("Threaded-Free"), "threaded-free");
    assert.throws(() => parseBenchMode("polling"), InputError);
  });
});

describe("bench option validation", () => {
  const good: BenchOptions = {
    modes: ["softirq"],
    sizes: [1, 65507],
    flows: [1, 200],
    durationNs: 1e9,
    warmupNs: 0,
    rxCpus: [0],
    txCpus: [0],
    ratePps: 0,
    batch: 64,
  };
  it("accepts the reference grid's extremes on one receiver CPU", () => {
    validateBenchOptions(good);
  });
  for (const [what, patch, message] of [
    ["a size above 65507", { sizes: [65508] }, /1 to 65507/],
    ["size 0", { sizes: [0] }, /invalid size 0/],
    ["zero flows", { flows: [0] }, /at least 1 flow/],
    ["more receivers than the CPUs allow", { flows: [201] }, /at most 200/],
    ["an offline CPU", { rxCpus: [4000] }, /offline or absent/],
    ["a too short window", { durationNs: 1e6 }, /200ms/],
    ["a bad batch", { batch: 5000 }, /batch/],
  ] as const) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => validateBenchOptions({ ...good, ...patch } as BenchOptions),
        (e: unknown) => e instanceof InputError && message.test(e.message),
      );
    });
  }
});

describe("cell measure", () => {
  const cpu = (idle: number, softirq: number) =>
    ({ user: 0, system: 1e9 - idle - softirq, idle, irq: 0, softirq, steal: 0, total: 1e9 }) as const;
  const snap = (t: bigint, sent: number, received: number, over: Partial<Snapshot>): Snapshot => ({
    tNs: t,
    sent,
    received,
    skew: 0,
    cpu: new Map([[1, cpu(0, 0)]]),
    softnet: new Map([[1, { processed: 0, dropped: 0, timeSqueeze: 0, receivedRps: 0, flowLimit: 0 }]]),
    receivers: { runNs: 0, waitNs: 0, slices: 0 },
    sender: { runNs: 0, waitNs: 0, slices: 0 },
    napi: { runNs: 0, waitNs: 0, slices: 0 },
    napiSwitches: { voluntary: 0, involuntary: 0 },
    ksoftirqd: new Map(),
    snmp: { inDatagrams: 0, noPorts: 0, inErrors: 0, rcvbufErrors: 0, memErrors: 0 },
    reasm: { reasmReqds: 0, reasmOks: 0, reasmFails: 0 },
    socketDrops: 0,
    txDev: { rxPackets: 0, rxDropped: 0, txPackets: 0, txDropped: 0 },
    rxDev: { rxPackets: 0, rxDropped: 0, txPackets: 0, txDropped: 0 },
    ...over,
  });
  it("turns two snapshots into rates, drops by place and CPU shares", () => {
    const a = snap(0n, 1000, 500, {});
    const b = snap(2_000_000_000n, 201_000, 100_500, {
      cpu: new Map([
        [1, { user: 0, system: 2.5e9, idle: 0.2e9, irq: 0, softirq: 0.3e9, steal: 0, total: 3e9 }],
      ]),
      softnet: new Map([[1, { processed: 0, dropped: 40, timeSqueeze: 3, receivedRps: 9, flowLimit: 0 }]]),
      receivers: { runNs: 1e9, waitNs: 5e8, slices: 10 },
      napi: { runNs: 6e8, waitNs: 0, slices: 4 },
      snmp: { inDatagrams: 0, noPorts: 0, inErrors: 70, rcvbufErrors: 70, memErrors: 0 },
      txDev: { rxPackets: 0, rxDropped: 0, txPackets: 0, txDropped: 25 },
    });
    const m = measure(a, b, { rxCpus: [1], txCpus: [0], napiCpus: [1], napiName: "napi/x-1", napiPid: 42 });
    assert.equal(m.offeredPps, 100_000);
    assert.equal(m.deliveredPps, 50_000);
    assert.deepEqual(m.drops, {
      ring: 25,
      backlog: 40,
      socket: 70,
      socketPerSocket: 0,
      rxDevice: 0,
      reassembly: 0,
    });
    assert.equal(m.timeSqueeze, 3);
    assert.equal(m.perCpu[0]?.busyPct, 90);
    assert.equal(m.perCpu[0]?.softirqPct, 15);
    assert.equal(m.perCpu[0]?.receiversPct, 50);
    assert.equal(m.perCpu[0]?.napiKthreadPct, 30);
    assert.equal(m.perCpu[0]?.senderPct, 0);
    assert.equal(m.receivers.waitPct, 25);
    assert.equal(m.napiKthread?.slices, 4);
    // CPU 1 was 90% busy: 15 softirq, 50 receivers, 30 kthread leave nothing for other work
    assert.equal(m.foreignPct, 0);
    const idleB = { ...b, receivers: { runNs: 2e8, waitNs: 0, slices: 1 } };
    assert.equal(
      measure(a, idleB, { rxCpus: [1], txCpus: [0], napiCpus: [1], napiName: null, napiPid: 42 }).foreignPct,
      35,
    );
    // without IRQ time accounting the 15% softirq is already inside the tasks' schedstat (and a
    // tick sample besides): subtracted once, not twice
    assert.equal(
      measure(a, idleB, {
        rxCpus: [1],
        txCpus: [0],
        napiCpus: [1],
        napiName: null,
        napiPid: 42,
        irqTimeAccounting: false,
      }).foreignPct,
      50,
    );
  });
});

describe("calibration fit", () => {
  it("recovers a + b*size from exact points, weighting by datagrams", () => {
    const f = fitLinear([
      { size: 1, ns: 1000.5, weight: 10 },
      { size: 1001, ns: 1500.5, weight: 10 },
      { size: 501, ns: 1250.5, weight: 1000 },
    ]);
    assert.ok(Math.abs(f.fixedNs - 1000) < 1e-6, String(f.fixedNs));
    assert.ok(Math.abs(f.perByteNs - 0.5) < 1e-9, String(f.perByteNs));
  });
  it("never fits a negative per-byte cost, and a single size gives the mean", () => {
    const f = fitLinear([
      { size: 1, ns: 900, weight: 1 },
      { size: 1000, ns: 800, weight: 1 },
    ]);
    assert.equal(f.perByteNs, 0);
    assert.equal(f.fixedNs, 850);
    assert.throws(() => fitLinear([]), InputError);
  });
  it("with one size the slope is not measured: a prior slope is kept and the fixed part is the rest", () => {
    const one = [
      { size: 64, ns: 900, weight: 3 },
      { size: 64, ns: 1000, weight: 1 },
    ];
    const f = fitLinear(one, 0.5);
    assert.equal(f.perByteNs, 0.5);
    assert.equal(f.fixedNs, 925 - 32);
    assert.equal(f.slopeFromPrior, true);
    assert.equal(fitLinear(one).perByteNs, 0);
    assert.equal(
      fitLinear(
        [
          { size: 1, ns: 900, weight: 1 },
          { size: 1000, ns: 1900, weight: 1 },
        ],
        5,
      ).slopeFromPrior,
      undefined,
    );
  });
});
