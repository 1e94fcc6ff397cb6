import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applies,
  COMPARE_MODES,
  compareRuns,
  DEFAULT_COMPARE_KNOBS,
  receiverVariants,
  runCompareRow,
} from "../../src/model/scenarios/compare.js";
import type { FloodOptions } from "../../src/model/scenarios/flood.js";
import { runCli } from "../support/cli.js";
import { profile } from "./helpers.js";

const base: FloodOptions = {
  profile,
  cpus: 1,
  mode: "softirq",
  ratePps: 300_000,
  size: 64,
  flows: 1,
  durationNs: 5e6,
};

describe("sim compare (model)", () => {
  it("runs every mode with every receiver variant that applies", () => {
    const runs = compareRuns(base, DEFAULT_COMPARE_KNOBS);
    const variants = receiverVariants(DEFAULT_COMPARE_KNOBS);
    const perMode = (m: string) => runs.filter((r) => r.mode === m).length;
    assert.equal(perMode("softirq"), variants.length);
    assert.equal(perMode("threaded"), variants.length);
    assert.equal(perMode("threadirqs"), variants.length);
    // threaded busy poll owns its NAPI: socket busy polling and deferral do not apply
    assert.deepEqual(
      runs.filter((r) => r.mode === "busy-poll").map((r) => r.variant.receiver),
      ["blocking", "nonblocking"],
    );
    assert.equal(runs.length, COMPARE_MODES.length * variants.length - (variants.length - 2));
    const ti = runs.find((r) => r.mode === "threadirqs");
    assert.equal(ti?.options.threadirqs, true);
    assert.equal(ti?.options.mode, "softirq");
    assert.equal(applies("busy-poll", variants[2] as (typeof variants)[number]), false);
  });

  it("a row carries delivered rate, drops, per-CPU split and latency quantiles", () => {
    const run = compareRuns(base, DEFAULT_COMPARE_KNOBS, ["threadirqs"])[0];
    assert.ok(run);
    const row = runCompareRow(run);
    assert.equal(row.mode, "threadirqs");
    assert.ok(row.deliveredPps > 0.99 * 300_000);
    assert.equal(row.cpu.length, 1);
    assert.ok((row.cpu[0]?.irqThreads ?? 0) > 0);
    assert.ok(
      row.latency.p50Us > 0 &&
        row.latency.p50Us <= row.latency.p99Us &&
        row.latency.p99Us <= row.latency.p999Us,
    );
  });
});

describe("napilab sim compare / flood modes (CLI)", () => {
  it("compare --json prints the scenario and one row per combination", () => {
    const r = runCli([
      "sim",
      "compare",
      "--rate",
      "300k",
      "--duration",
      "5ms",
      "--modes",
      "softirq,busy-poll",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.scenario.cpus, 1);
    assert.equal(doc.rows.length, receiverVariants(DEFAULT_COMPARE_KNOBS).length + 2);
    for (const k of ["mode", "receiver", "deliveredPps", "drops", "cpu", "latency"])
      assert.ok(k in doc.rows[0], k);
  });

  it("compare prints a table", () => {
    const r = runCli(["sim", "compare", "--rate", "300k", "--duration", "5ms", "--modes", "threadirqs"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /threadirqs +epoll\+busy-poll\+prefer\+irq-suspend/);
    assert.match(r.stdout, /p99\.9/);
  });

  it("flood --mode threadirqs and the receiver flags report their configuration", () => {
    const r = runCli([
      "sim",
      "flood",
      "--mode",
      "threadirqs",
      "--receiver",
      "nonblocking",
      "--busy-read",
      "20us",
      "--rate",
      "200k",
      "--duration",
      "5ms",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.config.modes.threadirqs, true);
    assert.equal(doc.config.modes.receiver, "nonblocking");
    assert.equal(doc.config.modes.busyReadNs, 20_000);
    assert.equal(doc.modes.irqThreads[0].name, "irq/40-eth0-rx-0");
    const human = runCli(["sim", "flood", "--mode", "threadirqs", "--rate", "200k", "--duration", "5ms"]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /irq threads/);
    assert.match(human.stdout, /modes: receiver blocking, threadirqs/);
  });

  it("bad modes input fails with one line and exit 2", () => {
    for (const args of [
      ["--receiver", "spinning"],
      ["--irq-suspend-timeout", "1ms"],
      ["--receiver", "epoll", "--irq-suspend-timeout", "1ms"],
      ["--defer-hard-irqs", "-1"],
    ]) {
      const r = runCli(["sim", "flood", "--duration", "5ms", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^napilab: /);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    }
    const c = runCli(["sim", "compare", "--modes", "softirq,bogus"]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /--modes/);
  });
});
