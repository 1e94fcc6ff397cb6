/**
 * napilab report without a browser: recognising and checking inputs, the page's shape (no script,
 * nothing loaded, what produced it), determinism, chart specs free of warnings, and the CLI's
 * errors. The page in a real browser: report-browser.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { z } from "zod";
import type { Calibration } from "../../src/bench/calibrate.js";
import type { BenchResult } from "../../src/bench/run.js";
import { InputError } from "../../src/core/errors.js";
import { loadProfile } from "../../src/model/profile.js";
import { type FloodResult, runFlood } from "../../src/model/scenarios/flood.js";
import {
  buildReport,
  checkInput,
  MAX_INPUT_BYTES,
  type ReportInput,
  readInput,
  shellQuote,
} from "../../src/observe/report/index.js";
import type { benchSchema, calibrationSchema, floodSchema } from "../../src/observe/report/inputs.js";
import { runCli } from "../support/cli.js";

// The report's schemas against the types of what napilab writes: if a producer drops or retypes a
// field the report draws, this stops compiling (tsc runs before the tests).
export const benchFits = (r: BenchResult): z.input<typeof benchSchema> => r;
export const floodFits = (r: FloodResult): z.input<typeof floodSchema> => r;
export const calibrationFits = (r: Calibration): z.input<typeof calibrationSchema> => r;

const BENCH = "test/observe/report-fixtures/bench.json";
const META = {
  command: "napilab report x.json -o y.html",
  version: "9.9.9",
  generatedAt: "2026-01-02T03:04:05Z",
  kernel: "6.18.0-test",
};

function flood(mode: "softirq" | "threaded", ratePps: number) {
  return runFlood({
    profile: loadProfile("default"),
    cpus: 2,
    mode,
    ratePps,
    size: 64,
    flows: 4,
    durationNs: 5_000_000,
    warmupNs: 2_000_000,
  });
}

/** A reproduce document as `napilab reproduce --json` prints it (figures made up, shape real). */
function reproduceDoc() {
  const row = (size: number, flows: number, seeded: boolean) => ({
    size,
    flows,
    vanilla: 100 + flows,
    guestThreaded: 200 + flows,
    bothThreaded: 300 + flows,
    seed: seeded ? { vanilla: 110, guestThreaded: 190, bothThreaded: 310 } : null,
    error: seeded ? { vanilla: -0.09, guestThreaded: 0.05, bothThreaded: -0.03 } : null,
    offeredKpps: 1000,
  });
  return {
    profile: "seed-experiment",
    rows: [row(1, 1, true), row(1, 25, true), row(64, 1, false), row(64, 25, false)],
    mape: { overall: 6, vanilla: 9, guestThreaded: 5, bothThreaded: 3 },
    cellsCompared: 6,
    trend: [{ name: "both threaded is best", holds: true, detail: "x" }],
    wallMs: 1,
  };
}

const calibrationDoc = {
  profileName: "host-test",
  profilePath: "/tmp/p.json",
  stack: { fixedNs: 900, perByteNs: 0.1, points: 2 },
  receiver: { fixedNs: 4000, perByteNs: 0.2, points: 2 },
  fitFromDisturbed: false,
  cells: [
    {
      mode: "softirq",
      size: 256,
      flows: 1,
      measuredPps: 18000,
      modelPps: 20000,
      errorPct: 11.1,
      disturbed: false,
    },
    {
      mode: "threaded",
      size: 256,
      flows: 1,
      measuredPps: 30000,
      modelPps: 27000,
      errorPct: -10,
      disturbed: true,
    },
  ],
  summarisedCells: 1,
  meanAbsErrorPct: 11.1,
  medianAbsErrorPct: 11.1,
};

describe("report inputs", () => {
  it("recognises every kind napilab writes", () => {
    const one = flood("softirq", 500_000);
    assert.equal(checkInput(reproduceDoc(), "r").kind, "reproduce");
    assert.equal(checkInput(one, "f").kind, "flood");
    assert.equal(checkInput({ sweep: [one, flood("softirq", 900_000)] }, "s").kind, "sweep");
    assert.equal(readInput(BENCH).kind, "bench");
    assert.equal(checkInput(calibrationDoc, "c").kind, "calibration");
  });

  it("names the file and the field of a bad value", () => {
    const doc = reproduceDoc() as Record<string, unknown>;
    (doc.rows as Record<string, unknown>[])[1] = { ...(doc.rows as object[])[1], vanilla: "fast" };
    assert.throws(
      () => checkInput(doc, "'t.json'"),
      (e: unknown) => e instanceof InputError && /'t\.json'.*rows\[1\]\.vanilla/.test(e.message),
    );
    const f = flood("threaded", 500_000) as unknown as { cpu: { idle: unknown }[] };
    (f.cpu[0] as { idle: unknown }).idle = null;
    assert.throws(() => checkInput(f, "f"), /cpu\[0\]\.idle/);
  });

  it("refuses JSON that is no napilab result, and a file above the size limit", () => {
    assert.throws(() => checkInput({ hello: 1 }, "'h.json'"), /'h\.json' is not a napilab result/);
    assert.throws(() => checkInput([1, 2], "'a.json'"), /not a napilab result/);
    const dir = mkdtempSync(join(tmpdir(), "napilab-report-"));
    const big = join(dir, "big.json");
    writeFileSync(big, "{}");
    truncateSync(big, MAX_INPUT_BYTES + 1);
    assert.throws(() => readInput(big), /MiB, more than the 32 MiB/);
  });
});

describe("report page", () => {
  const inputs = (): ReportInput[] => [
    checkInput(reproduceDoc(), "'repro.json'"),
    checkInput({ sweep: [flood("softirq", 300_000), flood("softirq", 1_500_000)] }, "'s1.json'"),
    checkInput({ sweep: [flood("threaded", 300_000), flood("threaded", 1_500_000)] }, "'s2.json'"),
    checkInput(flood("threaded", 800_000), "'f.json'"),
    readInput(BENCH),
    checkInput(calibrationDoc, "'cal.json'"),
  ];

  it("is self-contained, has no script, records what produced it, and renders without warnings", async () => {
    const warnings: string[] = [];
    const html = await buildReport(inputs(), META, warnings);
    assert.deepEqual(warnings, []);
    assert.doesNotMatch(html, /<script/i);
    // nothing to fetch: the only URLs are XML namespaces and the Vega-Lite schema id inside specs
    // never reaches the page
    for (const m of html.matchAll(/(?:src|href)="([^"]*)"/g)) assert.match(m[1] as string, /^#/, m[0]);
    assert.doesNotMatch(html, /@import|url\((?!#)/);
    assert.match(html, /napilab report x\.json -o y\.html/);
    assert.match(html, /9\.9\.9/);
    assert.match(html, /2026-01-02T03:04:05Z/);
    assert.match(html, /6\.18\.0-test/);
    assert.match(html, /seed-experiment/); // the profile of the reproduce run
    assert.match(html, /6\.18\.44-fc-v782/); // the kernel the bench measured
    // reproduce 3 + sweep 3 + flood 2 + bench 2 + calibration 1
    assert.equal((html.match(/<figure class="chart"/g) ?? []).length, 11);
    assert.equal((html.match(/<svg /g) ?? []).length, 11);
    // ids are unique across the inline SVGs (clip paths and gradients would collide otherwise)
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("is the same page for the same inputs", async () => {
    const a = await buildReport(inputs(), META);
    const b = await buildReport(inputs(), META);
    assert.equal(a, b);
  });

  it("escapes what it prints from its inputs", async () => {
    const doc = { ...reproduceDoc(), profile: "<img src=x onerror=alert(1)>" };
    const html = await buildReport([checkInput(doc, "'<b>.json'")], META);
    assert.doesNotMatch(html, /<img src=x/);
    assert.doesNotMatch(html, /<b>\.json/);
    assert.match(html, /&lt;img src=x/);
  });

  it("quotes the command line so it can be pasted back", () => {
    assert.equal(
      shellQuote(["napilab", "report", "a b.json", "-o", "r.html"]),
      "napilab report 'a b.json' -o r.html",
    );
    assert.equal(shellQuote(["it's"]), `'it'\\''s'`);
  });
});

describe("napilab report (CLI)", () => {
  const dir = mkdtempSync(join(tmpdir(), "napilab-report-cli-"));

  it("writes the page and says what it read", () => {
    const out = join(dir, "bench.html");
    const r = runCli(["report", BENCH, "-o", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.inputs[0].kind, "bench");
    assert.equal(doc.charts, 2);
    const html = readFileSync(out, "utf8");
    assert.match(html, /<svg /);
    assert.match(html, /napilab report test\/observe\/report-fixtures\/bench\.json -o /);
  });

  it("bad input: one napilab: line, exit 2, nothing written", () => {
    const notJson = join(dir, "n.json");
    writeFileSync(notJson, "{ nope");
    const other = join(dir, "o.json");
    writeFileSync(other, JSON.stringify({ some: "thing" }));
    const bad = join(dir, "b.json");
    writeFileSync(bad, JSON.stringify({ ...reproduceDoc(), mape: { overall: "x" } }));
    const out = join(dir, "never.html");
    for (const [args, pattern] of [
      [[notJson, "-o", out], /is not JSON/],
      [[other, "-o", out], /is not a napilab result/],
      [[bad, "-o", out], /field mape\.overall/],
      [[join(dir, "missing.json"), "-o", out], /cannot read .*ENOENT/],
      [[BENCH, "-o", join(dir, "no-such-folder", "r.html")], /--out .*does not exist/],
      [[BENCH, "-o", join(dir, "r.txt")], /--out .*HTML file/],
      [[BENCH, bad, "-o", out], /field mape\.overall/],
    ] as [string[], RegExp][]) {
      const r = runCli(["report", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] as string, /^napilab: /);
      assert.match(lines[0] as string, pattern);
      assert.throws(() => readFileSync(out), /ENOENT/);
    }
  });

  it("--html on sim flood checks the path before simulating", () => {
    const r = runCli(["sim", "flood", "--html", join(dir, "nope", "x.html")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^napilab: --html .*does not exist/);
  });
});
