/**
 * The reports in a real browser: Debian's chromium (scripts/install-system-deps.sh installs it),
 * driven by playwright-core, with JavaScript off. For each kind of report, written by real napilab
 * runs: the page loads from a file:// URL with no console error and no request but its own, every
 * chart's SVG has a title, axis titles, a legend and its data marks (counted against the input),
 * nothing overflows 1280 px, and a full-page screenshot 1280 px wide goes to test-output/report/.
 * One browser for all pages.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { runCli } from "../support/cli.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = resolve("test-output/report");
const BENCH = "test/observe/report-fixtures/bench.json";
const dir = mkdtempSync(join(tmpdir(), "napilab-report-browser-"));

function cli(args: string[]): string {
  const r = runCli(args, { timeoutMs: 300_000 });
  assert.equal(r.code, 0, `napilab ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

interface ChartFacts {
  id: string;
  title: string;
  axisTitles: number;
  legends: number;
  symbols: number;
  lines: number;
  rects: number;
  marks: number;
}

/**
 * What each figure's SVG holds, as the browser parsed it. A string, not a function: tsx compiles
 * functions with a helper (__name) that does not exist in the page.
 */
const CHART_FACTS = `[...document.querySelectorAll("figure.chart")].map((f) => {
  const svg = f.querySelector("svg");
  const count = (sel) => (svg ? svg.querySelectorAll(sel).length : 0);
  return {
    id: f.id,
    title: svg?.querySelector(".role-title-text text")?.textContent ?? "",
    axisTitles: count(".role-axis-title text"),
    legends: count(".role-legend"),
    symbols: count("g.mark-symbol.role-mark path"),
    lines: count("g.mark-line.role-mark path"),
    rects: count("g.mark-rect.role-mark path"),
    marks: count("g.role-mark > path, g.role-mark > line, g.role-mark > text"),
  };
})`;

function chartFacts(page: Page): Promise<ChartFacts[]> {
  return page.evaluate(CHART_FACTS) as Promise<ChartFacts[]>;
}

describe("reports in headless chromium", () => {
  let browser: Browser;
  const pages: Record<string, string> = {};
  const expect: {
    seedFigures: number;
    reproduceSizes: number;
    sweepPoints: number;
    floodCpus: number;
    benchCells: number;
    calCells: number;
  } = { seedFigures: 0, reproduceSizes: 2, sweepPoints: 0, floodCpus: 2, benchCells: 0, calCells: 0 };

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run scripts/install-system-deps.sh (installs Debian's chromium)`,
    );
    // real runs of every kind of result, written the ways a user would
    pages.reproduce = join(dir, "reproduce.html");
    const repro = JSON.parse(
      cli([
        "reproduce",
        ...["--sizes", "1,4096", "--flows", "1,25,100", "--duration", "10ms", "--jobs", "1"],
        ...["--json", "--html", pages.reproduce],
      ]),
    );
    expect.seedFigures = repro.rows.filter((r: { seed: unknown }) => r.seed !== null).length * 3;

    const sweeps = ["softirq", "threaded"].map((mode) => {
      const file = join(dir, `sweep-${mode}.json`);
      writeFileSync(
        file,
        cli(["sim", "flood", "--mode", mode, "--sweep", "300k,1M,2M", "--duration", "20ms", "--json"]),
      );
      return file;
    });
    expect.sweepPoints = 6;
    pages.sweep = join(dir, "sweep.html");
    cli(["report", ...sweeps, "-o", pages.sweep]);

    pages.flood = join(dir, "flood.html");
    cli([
      "sim",
      "flood",
      "--cpus",
      "2",
      "--flows",
      "4",
      "--rate",
      "1M",
      "--duration",
      "20ms",
      "--html",
      pages.flood,
    ]);

    const cal = join(dir, "calibration.json");
    writeFileSync(
      cal,
      cli([
        "calibrate",
        "--from",
        BENCH,
        "--out",
        join(dir, "profile.json"),
        "--sim-duration",
        "20ms",
        "--json",
      ]),
    );
    expect.benchCells = JSON.parse(readFileSync(BENCH, "utf8")).cells.length;
    expect.calCells = JSON.parse(readFileSync(cal, "utf8")).cells.length;
    pages.bench = join(dir, "bench.html");
    cli(["report", BENCH, cal, "-o", pages.bench]);

    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  after(async () => {
    await browser?.close();
  });

  /** Open a page with JavaScript off; what it asked the network for and what it logged as errors. */
  async function open(name: string) {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    const url = `file://${pages[name]}`;
    const response = await page.goto(url, { waitUntil: "load" });
    assert.ok(response?.ok(), `${name}: page did not load`);
    const facts = await chartFacts(page);
    const overflow = (await page.evaluate("document.documentElement.scrollWidth")) as number;
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    await context.close();
    assert.deepEqual(errors, [], `${name}: console errors`);
    assert.deepEqual(
      requests.filter((r) => r !== url),
      [],
      `${name}: requests other than the page itself`,
    );
    assert.ok(overflow <= 1280, `${name}: page is ${overflow}px wide, wider than 1280`);
    for (const c of facts) {
      assert.ok(c.title.length > 0, `${c.id}: no title`);
      assert.ok(c.axisTitles >= 2, `${c.id}: ${c.axisTitles} axis titles`);
      assert.ok(c.legends >= 1, `${c.id}: no legend`);
      assert.ok(c.marks > 0, `${c.id}: no data marks`);
    }
    return Object.fromEntries(facts.map((f) => [f.id.replace(/^[a-z]+-\d+-/, ""), f]));
  }

  it("reproduce --html: model lines, seed points, error cells, MAPE bars", async () => {
    const c = await open("reproduce");
    assert.deepEqual(Object.keys(c), ["per-size", "error", "mape"]);
    assert.equal(c["per-size"]?.lines, expect.reproduceSizes * 3); // a line per size and configuration
    assert.equal(c["per-size"]?.symbols, expect.seedFigures); // a point per seed figure
    assert.equal(c.error?.rects, expect.seedFigures); // a cell per seed figure
    assert.equal(c.mape?.rects, 3);
  });

  it("report of two sim sweeps: one curve per mode, drops and CPU split per rate", async () => {
    const c = await open("sweep");
    assert.deepEqual(Object.keys(c), ["delivered", "drops", "cpu"]);
    assert.equal(c.delivered?.symbols, expect.sweepPoints);
    assert.equal(c.delivered?.lines, 3); // two modes and the diagonal
    assert.equal(c.drops?.lines, 4); // two places per mode
    assert.equal(c.cpu?.rects, expect.sweepPoints * 7); // seven kinds of CPU time per bar
  });

  it("sim flood --html: per-CPU stacked split and latency distribution", async () => {
    const c = await open("flood");
    assert.deepEqual(Object.keys(c), ["cpu", "latency"]);
    assert.equal(c.cpu?.rects, expect.floodCpus * 7);
    assert.equal(c.latency?.lines, 1);
    assert.ok((c.latency?.symbols ?? 0) >= 10, "latency quantiles drawn");
  });

  it("report of a bench result with its calibration beside it", async () => {
    const c = await open("bench");
    assert.deepEqual(Object.keys(c), ["delivered", "cpu", "calibration"]);
    assert.equal(c.delivered?.rects, expect.benchCells);
    assert.equal(c.calibration?.symbols, expect.calCells);
    assert.ok((c.cpu?.rects ?? 0) >= expect.benchCells * 2, "a stacked bar per CPU and cell");
  });
});
