/**
 * Remakes docs/img/reproduce-per-size.png, the chart the README shows: runs the built
 * `napilab reproduce --html` (the full default table), opens the page in Debian's chromium and
 * screenshots the first chart at a 1280 px wide viewport. Run: npm run build && npm run docs:chart
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const out = resolve("docs/img/reproduce-per-size.png");
const page = join(mkdtempSync(join(tmpdir(), "napilab-readme-")), "reproduce.html");
const run = spawnSync(process.execPath, ["dist/cli/main.js", "reproduce", "--html", page], {
  stdio: ["ignore", "inherit", "inherit"],
});
if (run.status !== 0) throw new Error(`napilab reproduce exited with ${run.status}`);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
  ],
});
try {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 1280, height: 900 },
  });
  const tab = await context.newPage();
  await tab.goto(`file://${page}`);
  await tab.locator("figure.chart svg").first().screenshot({ path: out });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser.close();
}
