/**
 * The host-size rule of the long-running commands' V8 settings: how many CPUs a /proc tree lists.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";
import { observedCpuCount, SMALL_HOST_CPUS } from "../../src/observe/long-running.js";
import { writeSyntheticTree } from "../../src/observe/synthetic-tree.js";

const fixture = new URL("./fixtures/host-6.18", import.meta.url).pathname;

describe("observedCpuCount", () => {
  it("counts the per-CPU lines of a real /proc/stat (a 2-vCPU VM: a small host)", () => {
    assert.equal(observedCpuCount(fixture), 2);
    assert.ok(observedCpuCount(fixture) <= SMALL_HOST_CPUS);
  });

  it("sees the 64 CPUs of the synthetic tree (a large host) and 0 for a tree without stat", () => {
    const dir = mkdtempSync(`${tmpdir()}/napilab-long-running-`);
    try {
      writeSyntheticTree(dir, { cpus: 64, napis: 4, devices: 1, tick: 1 });
      assert.equal(observedCpuCount(dir), 64);
      assert.equal(observedCpuCount(`${dir}/nowhere`), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
