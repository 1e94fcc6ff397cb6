import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadResult } from "../../src/bench/result.js";
import { loadProfile } from "../../src/model/profile.js";
import { namespacesWith, runCli, stateFilesWith, uniquePrefix } from "./helpers.js";

interface CellJson {
  sent: number;
  received: number;
  countSkew: number;
  foreignPct: number;
  mode: string;
  size: number;
  flows: number;
  offeredPps: number;
  deliveredPps: number;
  drops: Record<string, number>;
  perCpu: { cpu: number; busyPct: number }[];
  receivers: { cpuPct: number };
  napiKthread: { pid: number; cpuPct: number; cpus: number[] } | null;
  setup: { threaded: string; kthreadCpus: number[] | null; rpsCpus: number[] };
}

describe("napilab bench --quick (real traffic, root)", () => {
  const prefix = uniquePrefix("trun");
  const dir = mkdtempSync(join(tmpdir(), "napilab-bench-test-"));
  const out = join(dir, "result.json");
  after(() => rmSync(dir, { recursive: true, force: true }));

  const r = runCli([
    "bench",
    "--quick",
    "--duration",
    "1s",
    "--warmup",
    "300ms",
    "--json",
    "--out",
    out,
    "--run-id-prefix",
    prefix,
  ]);

  it("exits 0 with one JSON document of cells", () => {
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { cells: CellJson[]; savedTo: string };
    assert.equal(doc.cells.length, 4);
    assert.deepEqual([...new Set(doc.cells.map((c) => c.mode))], ["softirq", "threaded"]);
    assert.equal(doc.savedTo, out);
  });

  it("delivers traffic, never more than was offered", () => {
    const doc = JSON.parse(r.stdout) as { cells: CellJson[] };
    for (const c of doc.cells) {
      assert.ok(c.offeredPps > 1000, `${c.mode}/${c.flows}: offered ${c.offeredPps}`);
      assert.ok(c.deliveredPps > 0, `${c.mode}/${c.flows}: nothing delivered`);
      // datagrams queued before the window opens (veth ring 256, backlog 1000, ~300 per socket
      // buffer) may be read inside it: on a slow or busy host that is more than a few percent
      const queued = 256 + 1000 + 300 * c.flows + c.countSkew;
      assert.ok(
        c.received <= c.sent * 1.02 + queued,
        `${c.mode}/${c.flows}: received ${c.received} > sent ${c.sent}`,
      );
      for (const v of Object.values(c.drops)) assert.ok(v >= 0);
      // every datagram sent in the window is received or dropped at one of the counted places,
      // up to what sat in the buffers at the window's edges: the veth ring (VETH_RING_SIZE 256), the
      // RPS backlog (netdev_max_backlog 1000) and each socket's receive buffer (~300 datagrams)
      const accounted = c.received + (c.drops.ring ?? 0) + (c.drops.backlog ?? 0) + (c.drops.socket ?? 0);
      // plus the datagrams that moved while the snapshots read /proc (countSkew, measured per cell)
      const slack = 0.02 * c.sent + 256 + 1000 + 300 * c.flows + c.countSkew;
      assert.ok(
        Math.abs(c.sent - accounted) <= slack,
        `${c.mode}/${c.flows}: sent ${c.sent}, accounted ${accounted}`,
      );
      assert.ok(c.receivers.cpuPct > 0, "receivers used CPU");
      assert.ok(c.perCpu.length >= 1);
    }
  });

  it("ran each mode as asked, and the NAPI kthread did the rx work in threaded cells", () => {
    const doc = JSON.parse(r.stdout) as { cells: CellJson[] };
    for (const c of doc.cells) {
      if (c.mode === "softirq") {
        assert.equal(c.setup.threaded, "disabled");
        assert.equal(c.napiKthread, null);
        assert.ok(c.setup.rpsCpus.length > 0, "RPS steers to the receivers' CPU");
      } else {
        assert.equal(c.setup.threaded, "enabled");
        assert.ok(c.napiKthread && c.napiKthread.pid > 0);
        assert.deepEqual(c.napiKthread.cpus, c.setup.kthreadCpus);
        assert.ok(c.napiKthread.cpuPct > 1, `kthread used ${c.napiKthread.cpuPct}% (packets bypassed NAPI?)`);
      }
    }
  });

  it("saves a result that loads back", () => {
    const saved = loadResult(out);
    assert.equal(saved.cells.length, 4);
    assert.ok(saved.runId.startsWith(prefix));
  });

  it("calibrate fits a profile the model loads, and compares the model with every cell", () => {
    const profile = join(dir, "profile.json");
    const c = runCli(["calibrate", "--from", out, "--out", profile, "--name", "test-host", "--json"]);
    assert.equal(c.code, 0, c.stderr);
    const cal = JSON.parse(c.stdout) as {
      stack: { fixedNs: number };
      receiver: { fixedNs: number };
      figures: Record<string, { value: number }>;
      cells: { measuredPps: number; modelPps: number; errorPct: number }[];
      meanAbsErrorPct: number;
    };
    assert.ok(cal.stack.fixedNs > 0 && cal.receiver.fixedNs > 0);
    assert.equal(cal.cells.length, 4);
    for (const cell of cal.cells) {
      assert.ok(cell.modelPps >= 0 && Number.isFinite(cell.errorPct));
      const expected = ((cell.modelPps - cell.measuredPps) / cell.measuredPps) * 100;
      assert.ok(Math.abs(cell.errorPct - expected) < 0.06, `${cell.errorPct} vs ${expected}`);
    }
    const p = loadProfile(profile);
    assert.equal(p.name, "test-host");
    assert.equal(p.figures.recvSyscallNs, cal.figures.recvSyscallNs?.value);
    assert.match(p.provenance.recvSyscallNs ?? "", /napilab calibrate from/);
    assert.equal(p.figures.ringSize, 256);
  });

  it("calibrate rejects a file that is not a bench result (exit 2)", () => {
    assert.equal(runCli(["calibrate", "--from", join(dir, "missing.json")]).code, 2);
    const r = runCli(["calibrate", "--from", "package.json"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a napilab bench result/);
  });

  it("leaves no namespaces and no state behind", () => {
    assert.deepEqual(namespacesWith(prefix), []);
    assert.deepEqual(stateFilesWith(prefix), []);
  });
});

describe("napilab bench --rate (paced, real traffic, root)", () => {
  const prefix = uniquePrefix("trate");
  it("offers the asked load and, well below capacity, delivers all of it", () => {
    // biome-ignore format: option/value pairs
    const r = runCli(["bench", "--modes", "threaded", "--sizes", "200", "--flows", "2", "--duration", "1s",
      "--warmup", "300ms", "--rate", "20k", "--json", "--no-save", "--run-id-prefix", prefix]);
    assert.equal(r.code, 0, r.stderr);
    const [cell] = (JSON.parse(r.stdout) as { cells: CellJson[] }).cells;
    assert.ok(cell);
    assert.ok(Math.abs(cell.offeredPps - 20_000) < 2_000, `offered ${cell.offeredPps}`);
    // on a quiet host all of it arrives; other work on the CPUs (OTHER%) can cost some
    const share = cell.foreignPct < 10 ? 0.95 : 0.5;
    assert.ok(
      cell.deliveredPps >= cell.offeredPps * share,
      `delivered ${cell.deliveredPps} of ${cell.offeredPps} (other work ${cell.foreignPct}%)`,
    );
    assert.deepEqual(namespacesWith(prefix), []);
  });
});
