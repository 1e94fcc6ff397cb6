/**
 * The sampling layer end to end on a fixture tree (the synthetic one of bench:observe): rates
 * from two snapshots, the Prometheus text, and `napilab top --once --json --proc-root`.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, describe, it } from "node:test";
import { ObserveMetrics } from "../../src/observe/metrics.js";
import { renderScreen } from "../../src/observe/render.js";
import { Sampler } from "../../src/observe/sampler.js";
import { napiPid, writeSyntheticTree } from "../../src/observe/synthetic-tree.js";
import { runCli } from "../support/cli.js";

const dirs: string[] = [];
function tree(shape: Parameters<typeof writeSyntheticTree>[1]): string {
  const dir = mkdtempSync(`${tmpdir()}/napilab-observe-`);
  dirs.push(dir);
  writeSyntheticTree(dir, shape);
  return dir;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("sampler on a fixture tree", () => {
  it("turns two snapshots one second apart into the rates the counters imply", () => {
    const shape = { cpus: 4, napis: 6, devices: 2, tick: 1 };
    const dir = tree(shape);
    let clock = 5e9;
    const s = new Sampler({ procRoot: dir, now: () => clock });
    assert.equal(s.sample().view, null);
    writeSyntheticTree(dir, { ...shape, tick: 2 });
    clock += 1e9;
    const { view, diagnoses, snapshot } = s.sample();
    s.close();
    assert.ok(view);
    assert.equal(view.napis.length, 6);
    const n0 = view.napis[0];
    assert.ok(n0);
    assert.equal(n0.kthread, "napi/eth0-8193");
    assert.equal(n0.pid, napiPid(0));
    assert.equal(n0.cpuPct, 20); // 200 ms of 1 s
    assert.equal(n0.waitPct, 5);
    assert.equal(n0.switchesPerSec, 100);
    assert.equal(n0.pps, 100);
    assert.equal(n0.ppsSource, "qstats");
    assert.deepEqual(n0.cpusAllowed, [0]);
    assert.equal(view.cpus.length, 4);
    const c0 = view.cpus[0];
    assert.ok(c0);
    // per tick a CPU adds 50 user + 20 system + 20 idle + 5 softirq ticks: softirq is 5/95 of it
    assert.ok(Math.abs(c0.softirqPct - (100 * 5) / 95) < 1e-9);
    assert.ok(Math.abs(c0.busyPct - (100 * 75) / 95) < 1e-9);
    assert.equal(c0.netRxPerSec, 100);
    assert.equal(c0.processedPerSec, 1000);
    assert.equal(c0.squeezesPerSec, 2);
    assert.equal(c0.ksoftirqdPct, 0.1);
    // NAPIs 0 and 4 last ran on CPU 0
    assert.equal(c0.napiPct, 40);
    assert.equal(view.udp?.rcvbufErrorsPerSec, 1);
    assert.equal(snapshot.ksoftirqd.size, 4);
    assert.deepEqual(
      [...new Set(diagnoses.map((d) => d.kind))].sort(),
      ["softnet-drops", "softnet-squeeze", "udp-rcvbuf-errors", "device-rx-drops"].sort(),
    );
    const screen = renderScreen(view, diagnoses, { sort: "c" }).join("\n");
    assert.match(screen, /napi\/eth0-8193/);
    assert.match(screen, /2 time squeezes\/s|2\.0 time squeezes\/s/);
  });

  it("a NAPI re-created by the driver (new id, new kthread) gets no rate from its predecessor", () => {
    const dir = tree({ cpus: 2, napis: 2, devices: 1, tick: 5 });
    let clock = 0;
    const s = new Sampler({ procRoot: dir, now: () => clock });
    s.sample();
    const path = `${dir}/napilab-napis.json`;
    const fixture = JSON.parse(readFileSync(path, "utf8")) as { napis: { id: number; pid: number }[] };
    const old = fixture.napis[1] as { id: number; pid: number };
    // the driver re-created NAPI 8194: a new id and a new kthread (with its own, smaller counters)
    old.id = 9000;
    old.pid = 20_000;
    writeFileSync(path, JSON.stringify(fixture));
    mkdirSync(`${dir}/20000`);
    writeFileSync(`${dir}/20000/stat`, readFileSync(`${dir}/${napiPid(1)}/stat`));
    writeFileSync(`${dir}/20000/schedstat`, "1000 0 1\n");
    clock = 1e9;
    const { view } = s.sample();
    s.close();
    const fresh = view?.napis.find((n) => n.id === 9000);
    assert.ok(fresh);
    assert.equal(fresh.cpuPct, null, "no delta across two different kthreads");
    assert.equal(view?.napis.find((n) => n.id === 8193)?.cpuPct, 0);
  });

  it("exports the sample as Prometheus counters with stable labels", async () => {
    const dir = tree({ cpus: 2, napis: 2, devices: 1, tick: 3 });
    const s = new Sampler({ procRoot: dir });
    const m = new ObserveMetrics();
    m.update(s.sample(), 0.001);
    s.close();
    const text = await m.metrics();
    assert.match(text, /# TYPE napilab_napi_thread_cpu_seconds_total counter/);
    assert.match(
      text,
      /napilab_napi_thread_cpu_seconds_total\{device="eth0",queue="0",napi_id="8193"\} 0\.6\n/,
    );
    assert.match(
      text,
      /napilab_napi_thread_wait_seconds_total\{device="eth0",queue="1",napi_id="8194"\} 0\.153\n/,
    );
    assert.match(text, /napilab_napi_threaded\{device="eth0",napi_id="8193"\} 1\n/);
    assert.match(text, /napilab_softnet_processed_total\{cpu="1"\} 4000\n/);
    assert.match(text, /napilab_softnet_times_squeezed_total\{cpu="0"\} 6\n/);
    assert.match(text, /napilab_softnet_dropped_total\{cpu="0"\} 3\n/);
    assert.match(text, /napilab_ksoftirqd_cpu_seconds_total\{cpu="1"\} 0\.003\n/);
    assert.match(text, /napilab_udp_rcvbuf_errors_total 3\n/);
    assert.doesNotMatch(text, /pid=/);
  });

  it("napilab top --once --json reads a fixture tree given with --proc-root", () => {
    const dir = tree({ cpus: 2, napis: 3, devices: 1, tick: 1 });
    const r = runCli(["top", "--once", "--json", "--window", "100ms", "--proc-root", dir]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      napis: Record<string, unknown>[];
      cpus: unknown[];
      diagnoses: unknown[];
    };
    assert.equal(doc.napis.length, 3);
    for (const k of ["ifname", "id", "mode", "pid", "cpuPct", "waitPct"])
      assert.ok(k in (doc.napis[0] ?? {}), k);
    assert.equal(doc.napis[0]?.mode, "threaded");
    assert.equal(doc.cpus.length, 2);
    assert.ok(Array.isArray(doc.diagnoses));
  });

  it("napilab top -n 2 without a terminal prints two plain frames and exits", () => {
    const dir = tree({ cpus: 2, napis: 2, devices: 1, tick: 1 });
    const r = runCli(["top", "-n", "2", "--interval", "100ms", "--proc-root", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/^DIAGNOSES$/gm)?.length, 2);
    assert.doesNotMatch(r.stdout, /\x1b\[/, "no terminal codes when stdout is not a terminal");
  });

  it("a malformed fixture file is one napilab: line naming the field, exit 2", () => {
    const dir = tree({ cpus: 1, napis: 1, tick: 1 });
    writeFileSync(`${dir}/napilab-napis.json`, JSON.stringify({ napis: [{ ifname: "eth0", id: -1 }] }));
    const r = runCli(["top", "--once", "--proc-root", dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^napilab: .*napilab-napis\.json: napis\.0\.\w+: /);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });

  it("bad options are one-line errors with exit 2", () => {
    for (const [args, re] of [
      [["top", "--interval", "fast"], /--interval/],
      [["top", "--interval", "1ms"], /--interval 1ms is out of range/],
      [["top", "--json"], /--json needs --once/],
      [["top", "--sort", "bogus"], /--sort/],
      [["exporter", "--listen", "nowhere"], /invalid --listen 'nowhere'/],
      [["top", "--once", "--netns", "napilab-no-such-ns"], /unknown network namespace/],
    ] as const) {
      const r = runCli([...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });
});
