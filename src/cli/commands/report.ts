/**
 * `napilab report RESULT.json... -o FILE.html`: one self-contained HTML page with charts from
 * napilab's JSON results. Also the `--html FILE` shortcut of reproduce, sim flood and bench, which
 * call writeHtmlReport with the result they just computed.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { InputError } from "../../core/errors.js";
import {
  buildReport,
  checkInput,
  type ReportMeta,
  readInput,
  shellQuote,
} from "../../observe/report/index.js";
import { VERSION } from "../program.js";

/** What made the page: this process's command line, napilab's version, now, this kernel. */
function currentMeta(): ReportMeta {
  return {
    command: shellQuote(["napilab", ...process.argv.slice(2)]),
    version: VERSION,
    generatedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    kernel: release(),
  };
}

/**
 * Check, before any work, that an HTML report can be written to `path`: its folder exists and it is
 * not a folder itself. Throws InputError naming the option.
 */
export function checkHtmlPath(path: string, option = "--html"): void {
  const full = resolve(path);
  if (!full.endsWith(".html") && !full.endsWith(".htm"))
    throw new InputError(`${option} ${path}: the report is an HTML file; name it *.html`);
  if (existsSync(full) && statSync(full).isDirectory())
    throw new InputError(`${option} ${path} is a folder; give a file name`);
  const dir = dirname(full);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InputError(`${option} ${path}: folder ${dir} does not exist`);
}

/**
 * Write the report of results this process just produced (the --html shortcut). `docs` are the
 * documents the command prints with --json; they go through the same checks as files do.
 */
export async function writeHtmlReport(path: string, docs: unknown[], what: string): Promise<void> {
  const inputs = docs.map((d) => checkInput(d, what));
  const html = await buildReport(inputs, currentMeta());
  writeFileSync(resolve(path), html);
  process.stderr.write(`report written to ${resolve(path)}\n`);
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description(
      "draw napilab's JSON results (reproduce, sim flood, bench, calibrate) as charts in one " +
        "self-contained HTML page",
    )
    .argument(
      "<RESULT...>",
      "JSON files written by napilab (reproduce --json, sim flood --json, bench, calibrate --json)",
    )
    .requiredOption("-o, --out <FILE>", "the HTML file to write")
    .option("--json", 'print one JSON document: {"out", "inputs": [{"file", "kind"}], "bytes", "charts"}')
    .addHelpText(
      "after",
      `
What it draws, per kind of result (each file is recognised by its content):
  reproduce --json          per payload size, delivered kpps against flows for vanilla, guest
                            threaded and both threaded (model as lines, the seed's figures as points);
                            a heat map of the model's error per cell; the MAPE per configuration
  sim flood --sweep --json  delivered against offered per mode (several files: one curve each),
                            drops by place, the CPU time split at each rate
  sim flood --json          per-CPU stacked time split (hardirq, softirq, ksoftirqd, NAPI threads,
                            receivers, idle) and the latency distribution (several files: compared)
  a bench result file       delivered per mode and cell, each CPU's time split per cell
  calibrate --json          the model against the measurement per cell (beside the bench result
                            when both are given)

The page has no script and loads nothing: charts are SVG drawn when it is written (Vega-Lite), each
with a table of its figures. It records the command line, napilab's version, the date and the kernel.

Examples:
  napilab reproduce --html reproduce.html                 # shortcut: run and draw in one go
  napilab sim flood --mode softirq --sweep 200k,1M,2M --json > softirq.json
  napilab sim flood --mode threaded --sweep 200k,1M,2M --json > threaded.json
  napilab report softirq.json threaded.json -o livelock.html
  napilab report results/bench-*.json calibration.json -o bench.html
`,
    )
    .action(async (files, o) => {
      checkHtmlPath(o.out, "--out");
      // read and check every input before writing anything
      const inputs = files.map(readInput);
      const html = await buildReport(inputs, currentMeta());
      const out = resolve(o.out);
      writeFileSync(out, html);
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify(
            {
              out,
              inputs: inputs.map((i, k) => ({ file: files[k], kind: i.kind })),
              bytes: Buffer.byteLength(html),
              charts: (html.match(/<figure class="chart"/g) ?? []).length,
            },
            null,
            2,
          )}\n`,
        );
      } else
        process.stdout.write(
          `report of ${inputs.length} result${inputs.length > 1 ? "s" : ""} (${[...new Set(inputs.map((i) => i.kind))].join(", ")}) written to ${out}\n`,
        );
    });
}
