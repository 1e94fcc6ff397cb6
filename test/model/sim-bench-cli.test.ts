import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../support/cli.js";

/** A real saved bench result (schema-checked by every reader), with its cells and options replaced. */
function benchResult(
  cells: { mode: string; size: number; flows: number }[],
  options: Record<string, unknown> = {},
) {
  const real = JSON.parse(readFileSync("test/fixtures/bench-result-quick.json", "utf8"));
  const template = real.cells[0];
  return JSON.stringify({
    ...real,
    options: { ...real.options, ...options },
    cells: cells.map((c) => ({ ...template, ...c })),
  });
}

describe("napilab sim bench (CLI)", () => {
  it("--json gives one cell per mode x size x flows, in the bench's field names", () => {
    // biome-ignore format: option/value pairs
    const r = runCli(["sim", "bench", "--modes", "softirq,threaded", "--sizes", "64", "--flows", "1,4",
      "--duration", "20ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.cells.length, 4);
    for (const c of doc.cells) {
      for (const k of [
        "offeredPps",
        "deliveredPps",
        "drops",
        "perCpu",
        "receivers",
        "sender",
        "napiKthread",
        "rpsReceived",
      ])
        assert.ok(k in c, k);
      for (const k of ["ring", "backlog", "socket"]) assert.ok(k in c.drops, k);
      for (const k of ["busyPct", "softirqPct", "irqPct", "receiversPct", "senderPct", "napiKthreadPct"])
        assert.ok(k in c.perCpu[0], k);
    }
    assert.deepEqual(
      doc.cells.map((c: { mode: string; flows: number }) => `${c.mode}/${c.flows}`),
      ["softirq/1", "softirq/4", "threaded/1", "threaded/4"],
    );
  });

  it("--from re-simulates a bench result's cells and shows the measured rate beside", () => {
    const dir = mkdtempSync(join(tmpdir(), "napilab-simbench-"));
    const from = join(dir, "r.json");
    writeFileSync(
      from,
      benchResult(
        [
          { mode: "softirq", size: 128, flows: 2 },
          { mode: "threaded", size: 128, flows: 2 },
        ],
        { batch: 32 },
      ),
    );
    const r = runCli(["sim", "bench", "--from", from, "--duration", "20ms"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /MEASURED/);
    assert.match(r.stdout, /softirq\s+128\s+2/);
    assert.match(r.stdout, /threaded\s+128\s+2/);
  });

  it("mirrors the bench's receiver variants (non-blocking recv, busy read), from flags or a result", () => {
    // biome-ignore format: option/value pairs
    const base = ["sim", "bench", "--modes", "threaded", "--sizes", "64", "--flows", "1", "--duration", "20ms", "--rate", "20k", "--json"];
    const plain = JSON.parse(runCli(base).stdout).cells[0];
    const spin = JSON.parse(runCli([...base, "--receiver", "nonblocking"]).stdout).cells[0];
    // a receiver spinning on EAGAIN never sleeps: it holds its CPU's share even when the socket is empty
    assert.ok(
      spin.receivers.cpuPct > plain.receivers.cpuPct,
      `${spin.receivers.cpuPct} vs ${plain.receivers.cpuPct}`,
    );
    const dir = mkdtempSync(join(tmpdir(), "napilab-simbench-"));
    const from = join(dir, "r.json");
    const doc = (receiver: string) => benchResult([{ mode: "threaded", size: 64, flows: 1 }], { receiver });
    writeFileSync(from, doc("nonblocking+busy-read 50us"));
    assert.equal(runCli(["sim", "bench", "--from", from, "--duration", "20ms"]).code, 0);
    writeFileSync(from, doc("blocking+busy-read 50us+prefer-busy-poll"));
    const r = runCli(["sim", "bench", "--from", from, "--duration", "20ms"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /'prefer-busy-poll' is not mirrored/);
  });

  it("bad input: one line, exit 2, nothing simulated", () => {
    const a = runCli(["sim", "bench", "--rx-cpus", "3", "--cpus", "2"]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /^napilab: --rx-cpus names CPU 3/);
    const b = runCli(["sim", "bench", "--modes", "turbo"]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /^napilab: invalid --modes entry 'turbo'/);
    const c = runCli(["sim", "bench", "--profile", "default"]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /lacks the host-path figures/);
  });
});
