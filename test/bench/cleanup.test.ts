import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { processStartTime, tryLock } from "../../src/bench/topology.js";
import {
  namespacesWith,
  runCli,
  STATE_DIR,
  startCli,
  stateFilesWith,
  uniquePrefix,
  waitFor,
} from "./helpers.js";

/** A long run that is still measuring when the test signals it. */
function longRun(prefix: string, extra: string[] = ["--duration", "60s", "--no-save"]) {
  return startCli([
    "bench",
    "--modes",
    "threaded",
    "--sizes",
    "64",
    "--flows",
    "2",
    ...extra,
    "--run-id-prefix",
    prefix,
  ]);
}

function inode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** A leftover as a crashed run leaves it: a state file and its two namespaces. */
function fakeLeftover(prefix: string, pid: number, pidStart: string | null): string {
  const runId = `${prefix}x1`;
  const namespaces = [`napilab-${runId}-tx`, `napilab-${runId}-rx`];
  for (const n of namespaces) assert.equal(spawnSync("ip", ["netns", "add", n]).status, 0);
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(
    join(STATE_DIR, `${runId}.json`),
    JSON.stringify({ runId, pid, pidStart, created: new Date().toISOString(), namespaces }),
  );
  return runId;
}

describe("napilab bench: results kept and everything removed on every exit path (root)", () => {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} after the first cell prints and saves the cells measured, marked incomplete, exit ${code}`, async () => {
      const prefix = uniquePrefix(signal === "SIGINT" ? "tint" : "tterm");
      const out = join(STATE_DIR, "results", `${prefix}.json`);
      // biome-ignore format: option/value pairs
      const run = longRun(prefix, ["--sizes", "64,65,66,67,68,69,70,71", "--duration", "1s", "--warmup", "200ms",
        "--json", "--out", out]);
      assert.ok(await waitFor(() => namespacesWith(prefix).length === 2, 30_000), "topology appeared");
      const rxNs = `/run/netns/${namespacesWith(prefix).find((n) => n.endsWith("-rx"))}`;
      // 'ip netns add' makes the file first and mounts the namespace on it a moment later
      await new Promise((r) => setTimeout(r, 1000));
      const first = inode(rxNs);
      // every cell gets fresh namespaces: a new inode means the first cell was measured
      assert.ok(await waitFor(() => inode(rxNs) !== first, 60_000), "a second cell started");
      run.child.kill(signal);
      const end = await run.exited;
      assert.equal(end.code, code, end.stderr);
      assert.match(end.stderr, new RegExp(`^napilab: bench interrupted by ${signal} after \\d+ of 8 cells`));
      assert.equal(end.stderr.trim().split("\n").length, 1, end.stderr);
      const doc = JSON.parse(end.stdout) as { complete: boolean; interruptedBy: string; cells: unknown[] };
      assert.equal(doc.complete, false);
      assert.equal(doc.interruptedBy, signal);
      assert.ok(doc.cells.length >= 1 && doc.cells.length < 8, `${doc.cells.length} cells`);
      const saved = JSON.parse(readFileSync(out, "utf8")) as { complete: boolean; cells: unknown[] };
      assert.equal(saved.complete, false);
      assert.equal(saved.cells.length, doc.cells.length);
      assert.deepEqual(namespacesWith(prefix), []);
      assert.deepEqual(stateFilesWith(prefix), []);
    });
  }

  it("a live run holds a lock: a second run is refused and --cleanup leaves the live run alone", async () => {
    const prefix = uniquePrefix("tlive");
    const run = longRun(prefix);
    assert.ok(await waitFor(() => namespacesWith(prefix).length === 2, 30_000), "topology appeared");
    const clean = runCli(["bench", "--cleanup", "--json"]);
    assert.equal(clean.code, 0, clean.stderr);
    const report = JSON.parse(clean.stdout) as { skippedLive: string[] };
    assert.ok(report.skippedLive.some((id) => id.startsWith(prefix)));
    assert.equal(namespacesWith(prefix).length, 2);
    const second = runCli(["bench", "--quick", "--no-save"]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^napilab: another napilab bench run .* is in progress/);
    run.child.kill("SIGTERM");
    assert.equal((await run.exited).code, 143);
    assert.deepEqual(namespacesWith(prefix), []);
  });

  it("the lock is the kernel's: held, a run is refused; its holder SIGKILLed, it is free", async () => {
    mkdirSync(STATE_DIR, { recursive: true });
    // flock(1) from util-linux holds the same flock(2) lock a run takes (-o: only flock holds it,
    // not its sleep); its own process group, so the test can kill both
    const holder = spawn("flock", ["-o", "-x", join(STATE_DIR, "lock"), "sleep", "60"], {
      stdio: "ignore",
      detached: true,
    });
    try {
      const held = () => {
        const l = tryLock();
        l?.release();
        return l === null;
      };
      assert.ok(await waitFor(held, 5000), "flock(1) took the lock");
      const r = runCli(["bench", "--quick", "--no-save"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /another napilab bench run .* is in progress/);
    } finally {
      process.kill(-(holder.pid as number), "SIGKILL");
    }
    assert.ok(
      await waitFor(() => {
        const l = tryLock();
        l?.release();
        return l !== null;
      }, 5000),
      "the kernel released the lock of the killed holder",
    );
  });

  it("a killed run's leftovers block the next run until --cleanup removes them", async () => {
    const prefix = uniquePrefix("tkill");
    const sysfsMounts = () =>
      readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        // napilab mounts another namespace's sysfs over /sys, in a mount namespace of its own
        .filter((l) => l.split(" ")[4] === "/sys" && l.includes(" - sysfs ")).length;
    const mountsBefore = sysfsMounts();
    const run = longRun(prefix);
    assert.ok(await waitFor(() => namespacesWith(prefix).length === 2, 30_000));
    // killed while it sets up or measures its first cell (RPS and threaded writes go through sysfs)
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1500));
    run.child.kill("SIGKILL");
    await run.exited;
    assert.equal(namespacesWith(prefix).length, 2, "SIGKILL leaves the topology behind");
    assert.equal(sysfsMounts(), mountsBefore, "but no sysfs mount in the host's mount namespace");

    const blocked = runCli(["bench", "--quick", "--no-save"]);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /leftover topology of crashed bench run .*napilab bench --cleanup/);

    const clean = runCli(["bench", "--cleanup", "--json"]);
    assert.equal(clean.code, 0, clean.stderr);
    const report = JSON.parse(clean.stdout) as { removed: string[] };
    assert.equal(report.removed.filter((n) => n.startsWith(`napilab-${prefix}`)).length, 2);
    assert.deepEqual(namespacesWith(prefix), []);
    assert.deepEqual(stateFilesWith(prefix), []);

    const again = runCli(["bench", "--cleanup"]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /nothing to clean up/);
  });

  it("a leftover whose pid now belongs to another process is a leftover, not a live run", () => {
    const prefix = uniquePrefix("treuse");
    const start = processStartTime(process.pid);
    assert.ok(start !== null);
    // this very test process stands for the unrelated process that got the crashed run's pid
    const runId = fakeLeftover(prefix, process.pid, String(Number(start) + 12345));
    const clean = runCli(["bench", "--cleanup", "--json"]);
    assert.equal(clean.code, 0, clean.stderr);
    const report = JSON.parse(clean.stdout) as { runs: string[]; skippedLive: string[] };
    assert.deepEqual(report.skippedLive, []);
    assert.ok(report.runs.includes(runId));
    assert.deepEqual(namespacesWith(prefix), []);
    assert.deepEqual(stateFilesWith(prefix), []);
  });

  it("without privileges --cleanup says what it could not remove in one line (exit 1) and keeps the record", () => {
    const prefix = uniquePrefix("tunpriv");
    const runId = fakeLeftover(prefix, 999_999_999, null);
    try {
      const r = runCli(["bench", "--cleanup"], { unprivileged: true });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^napilab: could not remove napilab-${runId}-(tx|rx)`));
      assert.equal(namespacesWith(prefix).length, 2);
      assert.deepEqual(stateFilesWith(prefix), [`${runId}.json`]);
      // with privileges the same leftover goes, record and all
      const ok = runCli(["bench", "--cleanup", "--json"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(namespacesWith(prefix), []);
      assert.deepEqual(stateFilesWith(prefix), []);
    } finally {
      for (const n of namespacesWith(prefix)) spawnSync("ip", ["netns", "del", n]);
      rmSync(join(STATE_DIR, `${runId}.json`), { force: true });
    }
  });

  it("--cleanup removes sysfs mounts and directories older napilab versions left under the temp directory", () => {
    const tmp = mkdtempSync(join(tmpdir(), "napilab-cleanup-tmp-"));
    const stale = join(tmp, "napilab-sysfs-AbC123");
    const emptyDir = join(tmp, "napilab-sysfs-XyZ789");
    const notOurs = join(tmp, "napilab-sysfs-keep-me");
    for (const d of [stale, emptyDir, notOurs]) mkdirSync(d);
    assert.equal(spawnSync("mount", ["-t", "sysfs", "sysfs", stale]).status, 0);
    const mounted = () => readFileSync("/proc/self/mountinfo", "utf8").includes(` ${stale} `);
    try {
      assert.ok(mounted());
      const r = spawnSync(process.execPath, ["dist/cli/main.js", "bench", "--cleanup", "--json"], {
        encoding: "utf8",
        env: { ...process.env, TMPDIR: tmp },
      });
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { mounts: string[]; failed: unknown[] };
      assert.ok(report.mounts.includes(stale) && report.mounts.includes(emptyDir), r.stdout);
      assert.deepEqual(report.failed, []);
      assert.equal(mounted(), false);
      assert.equal(existsSync(stale), false);
      assert.equal(existsSync(emptyDir), false);
      assert.equal(existsSync(notOurs), true, "only napilab-sysfs-XXXXXX names are napilab's");
    } finally {
      if (mounted()) spawnSync("umount", ["-l", stale]);
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("an unreadable state directory is one line and exit 1, not a stack trace", () => {
    const dir = join(STATE_DIR, "locked");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "x.json"), "{}");
    chmodSync(dir, 0o000);
    try {
      const r = spawnSync(
        "setpriv",
        [
          "--inh-caps=-all",
          "--ambient-caps=-all",
          "--bounding-set=-all",
          "--",
          process.execPath,
          "dist/cli/main.js",
          "bench",
          "--cleanup",
        ],
        {
          encoding: "utf8",
          env: { ...process.env, NAPILAB_STATE_DIR: dir },
        },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^napilab: cannot .*EACCES/);
    } finally {
      chmodSync(dir, 0o755);
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(existsSync(dir), false);
  });
});
