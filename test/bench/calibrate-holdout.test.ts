import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { BenchResult } from "../../src/bench/run.js";
import { loadProfile } from "../../src/model/profile.js";
import { type BenchHostMode, runBenchCell } from "../../src/model/scenarios/bench-host.js";
import { runCli } from "../support/cli.js";

/**
 * A bench result made by the model itself from a known host (the veth-host-prior profile with some
 * figures moved): calibrate must find a profile that predicts the cells it did not see.
 */
function syntheticResult(sizes = [64, 512, 1400], otherWork: number[] = []): BenchResult {
  const truth = loadProfile("veth-host-prior");
  const f = truth.figures;
  truth.figures = { ...f, sendPerDatagramNs: 900, recvSyscallNs: 1200, groNs: 90, ipRcvNs: 200 };
  const cells = [];
  for (const mode of ["softirq", "threaded"] as BenchHostMode[])
    for (const size of sizes) {
      const s = runBenchCell({
        otherWork,
        profile: truth,
        mode,
        size,
        flows: 1,
        rxCpus: [1],
        txCpus: [0],
        durationNs: 40_000_000,
        warmupNs: 10_000_000,
      });
      cells.push({
        ...s,
        countSkew: 0,
        drops: { ...s.drops, socketPerSocket: s.drops.socket, rxDevice: 0 },
        reassembled: 0,
        perCpu: s.perCpu.map((p) => ({ ...p, userPct: 0, systemPct: 0 })),
        napiKthread: s.napiKthread
          ? { ...s.napiKthread, pid: 1, voluntarySwitches: 0, involuntarySwitches: 0 }
          : null,
        setup: { mode },
        senderErrors: 0,
      });
    }
  return {
    tool: "napilab bench",
    version: 1,
    runId: "synthetic",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    host: { kernel: "model", onlineCpus: "0-1", node: "v20", irqTimeAccounting: true },
    options: {
      modes: ["softirq", "threaded"],
      sizes,
      flows: [1],
      durationNs: 40_000_000,
      warmupNs: 10_000_000,
      rxCpus: "1",
      txCpus: "0",
      ratePps: 0,
      batch: 64,
      sender: "packet",
    },
    cells,
  } as unknown as BenchResult;
}

describe("napilab calibrate --holdout-sizes (a result the model made from a known host)", () => {
  const dir = mkdtempSync(join(tmpdir(), "napilab-cal-"));
  const from = join(dir, "bench.json");
  writeFileSync(from, JSON.stringify(syntheticResult()));

  it("fits on the other sizes and predicts the held-out size from the model alone", () => {
    const out = join(dir, "profile.json");
    // biome-ignore format: option/value pairs
    const r = runCli(["calibrate", "--from", from, "--holdout-sizes", "512", "--out", out, "--name", "synthetic",
      "--sim-duration", "40ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const cal = JSON.parse(r.stdout);
    assert.equal(cal.profilePath, out);
    assert.deepEqual(cal.holdout.sizes, [512]);
    assert.equal(cal.holdout.cells.length, 2);
    assert.equal(cal.fit.cells.length, 4);
    for (const c of cal.holdout.cells) {
      for (const k of ["mode", "size", "flows", "measuredPps", "modelPps", "errorPct"]) assert.ok(k in c, k);
      assert.equal(c.size, 512);
      assert.equal(c.heldOut, true);
    }
    // no other work in a model-made result: nothing to fit for the background
    assert.equal(cal.background.tasksPerCpu, 0);
    assert.equal(cal.background.fitted, false);
    // the fit recovers the host it was made from closely enough to predict the unseen size
    assert.ok(cal.holdout.mapePercent < 15, `held-out MAPE ${cal.holdout.mapePercent}%`);
    // within 15 points: the receivers' per-byte slope, fitted from two sizes, also takes in the
    // sleeps and wake-ups of the larger size's receiver, and the refinement trades it off (12.3 when written)
    assert.ok(cal.holdout.cpuSplitMaxPoints < 15, `CPU split off by ${cal.holdout.cpuSplitMaxPoints} points`);
    assert.ok(
      cal.holdout.cpuSplitMeanPoints < 3,
      `CPU split off by ${cal.holdout.cpuSplitMeanPoints} points on average`,
    );
    // with IRQ time accounting every part of the split is a time: nothing tick-sampled set apart
    assert.equal(cal.holdout.cpuSplitTimedMaxPoints, cal.holdout.cpuSplitMaxPoints);
    assert.ok(
      cal.holdout.cells.every((c: { cpuSplit: { tickSampled: boolean }[] }) =>
        c.cpuSplit.every((p) => !p.tickSampled),
      ),
    );
    // the IPI latency search and the refinement ran, and the fit recovers the made host's figures
    assert.ok(cal.ipiLatency.length > 0 && cal.refine.length > 0);
    const made = loadProfile("veth-host-prior").figures;
    const near = (k: "ipiLatencyNs" | "skbFreeNs", within: number) =>
      assert.ok(
        Math.abs(cal.figures[k].value - (made[k] ?? 0)) < within * (made[k] ?? 0),
        JSON.stringify(cal.figures[k]),
      );
    near("ipiLatencyNs", 0.5);
    near("skbFreeNs", 0.4);
    assert.ok(
      Math.abs(cal.figures.sendPerDatagramNs.value - 900) < 200,
      JSON.stringify(cal.figures.sendPerDatagramNs),
    );
    const p = loadProfile(out);
    assert.equal(p.figures.recvSyscallNs, cal.figures.recvSyscallNs.value);
    assert.match(p.provenance.recvSyscallNs ?? "", /napilab calibrate from/);
  });

  it("rejects a held-out size the result does not have, and holding out everything (exit 2)", () => {
    const a = runCli(["calibrate", "--from", from, "--holdout-sizes", "999", "--json"]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /^napilab: --holdout-sizes: the result has no cell of size 999/);
    const b = runCli(["calibrate", "--from", from, "--holdout-flows", "1", "--json"]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /every cell is held out/);
  });
});

describe("napilab calibrate on a busy host (a model-made result with other work on the CPUs)", () => {
  it("replays the other work the bench measured on each CPU in the cells it disturbed", () => {
    const dir = mkdtempSync(join(tmpdir(), "napilab-cal-bg-"));
    const from = join(dir, "bench.json");
    writeFileSync(from, JSON.stringify(syntheticResult([64, 1400], [30, 25])));
    const run = (extra: string[]) => {
      // biome-ignore format: option/value pairs
      const r = runCli(["calibrate", "--from", from, "--out", join(dir, "p.json"), "--sim-duration", "40ms",
        "--max-evaluations", "4", ...extra, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const cal = run([]);
    assert.equal(cal.otherWork, "measured");
    assert.ok(cal.cells.every((c: { disturbed: boolean }) => c.disturbed));
    assert.ok(cal.fit.mapePercent < 15, `fit MAPE ${cal.fit.mapePercent}%`);
    // taking the busy cells for a quiet host (no other work: --background 0) predicts them worse
    const quiet = run(["--background", "0"]);
    assert.equal(quiet.otherWork, "background");
    assert.ok(
      quiet.fit.mapePercent > cal.fit.mapePercent + 5,
      `${quiet.fit.mapePercent}% vs ${cal.fit.mapePercent}%`,
    );
  });
});
