/**
 * `napilab reproduce`: the main job. Runs the seed's experiment in the model (remote UDP flood ->
 * hypervisor NIC -> tun -> vhost-net -> single-vCPU guest) for each payload size, flow count and
 * configuration, and prints the table in the seed's layout with the seed's figures and the error.
 */
import { cpus } from "node:os";
import type { Command } from "@commander-js/extra-typings";
import { InputError } from "../../core/errors.js";
import { formatDuration, parseDuration, parseInteger, parseList, parseSize } from "../../core/units.js";
import { lineRateDps, udpFraming } from "../../model/kernel/wire.js";
import { loadProfile, requireHvFigures } from "../../model/profile.js";
import {
  formatKpps,
  reproduceTable,
  type TableResult,
  type TrendCheck,
  trendChecks,
} from "../../model/scenarios/reproduce.js";
import { SEED_CONFIGS, senderRateDps, validateSeedCell } from "../../model/scenarios/seed.js";
import { printJson, renderTable, startProgress } from "../output.js";
import { checkHtmlPath, writeHtmlReport } from "./report.js";

const DEFAULT_SIZES = "1,64,256,1438,4096,64000";
const DEFAULT_FLOWS = "1,25,50,100,200";
/** Simulated time measured per cell: below 1ms a cell sees too few datagrams to give a rate. */
const MIN_DURATION_NS = 1_000_000;
const MAX_DURATION_NS = 60_000_000_000;

function delta(x: number, vanilla: number): string {
  if (vanilla <= 0) return "";
  const d = Math.round((x / vanilla - 1) * 100);
  return d === 0 ? " (0)" : ` (${d > 0 ? "+" : ""}${d}%)`;
}

function signed(e: number): string {
  const p = Math.round(e * 100);
  return `${p > 0 ? "+" : ""}${p}%`;
}

function printTable(r: TableResult, checks: TrendCheck[], profile: string): void {
  const head = [
    "size/flows",
    "vanilla",
    "guest threaded",
    "both threaded",
    "seed: vanilla",
    "guest threaded",
    "both threaded",
    "error v / g / b",
  ];
  const rows = r.rows.map((row) => {
    const s = row.seed;
    const e = row.error;
    return [
      `${row.size}/${row.flows}`,
      formatKpps(row.vanilla),
      formatKpps(row.guestThreaded) + delta(row.guestThreaded, row.vanilla),
      formatKpps(row.bothThreaded) + delta(row.bothThreaded, row.vanilla),
      s ? formatKpps(s.vanilla) : "-",
      s ? formatKpps(s.guestThreaded) + delta(s.guestThreaded, s.vanilla) : "-",
      s ? formatKpps(s.bothThreaded) + delta(s.bothThreaded, s.vanilla) : "-",
      e ? `${signed(e.vanilla)} / ${signed(e.guestThreaded)} / ${signed(e.bothThreaded)}` : "(prediction)",
    ];
  });
  const out: string[] = [];
  out.push(
    `The seed's experiment in the model (profile ${profile}): kpps delivered to the guest's netservers`,
  );
  out.push(renderTable(head, rows, ["left", "right", "right", "right", "right", "right", "right", "right"]));
  out.push("");
  if (r.mape.overall !== null) {
    out.push(
      `Mean absolute percentage error over the ${r.cellsCompared} cells the seed gives: ${r.mape.overall}% ` +
        `(vanilla ${r.mape.vanilla}%, guest threaded ${r.mape.guestThreaded}%, both threaded ${r.mape.bothThreaded}%).`,
    );
  } else out.push("No row of this table is in the seed's brief, so there is no error to report.");
  out.push("Rows marked (prediction) are sizes the seed's brief leaves out: predicted, never fitted.");
  for (const c of checks) out.push(`${c.holds ? "[ok]  " : "[FAIL]"} ${c.name}: ${c.detail}`);
  out.push(`(${r.rows.length * 3} cells in ${(r.wallMs / 1000).toFixed(1)} s)`);
  process.stdout.write(`${out.join("\n")}\n`);
}

export function registerReproduce(program: Command): void {
  program
    .command("reproduce")
    .description(
      "the main job: reproduce the seed's experiment (UDP flood from a remote host into a single-vCPU VM " +
        "through tun and vhost-net) in the model, for vanilla, guest threaded and both threaded NAPI, and " +
        "compare with the seed's table",
    )
    .option("--sizes <list>", "UDP payload sizes in bytes", DEFAULT_SIZES)
    .option("--flows <list>", "numbers of parallel flows (one netserver each)", DEFAULT_FLOWS)
    .option(
      "--profile <name>",
      "cost profile (the calibrated seed-experiment profile by default)",
      "seed-experiment",
    )
    .option("--duration <time>", "simulated time measured per cell, after a 20ms warm-up", "50ms")
    .option("--jobs <n>", "worker threads (default: one per CPU core)")
    .option("--seed <n>", "random seed", "1")
    .option("--json", "print one JSON document")
    .option("--html <FILE>", "also write the report with charts to FILE (as napilab report does)")
    .addHelpText(
      "after",
      `
Each cell simulates the whole path: a remote sender running N netperf UDP_STREAM flows over a 10 Gb/s
wire (payloads above 1472 bytes are IP fragments), the hypervisor's NIC with 'sdfn' RSS, host NAPI
(softirq, or threaded in "both threaded") forwarding into a tun device, a vhost-net worker copying
into the guest's virtio-net ring, and a single-vCPU guest (itself a thread on the host) whose
virtio-net NAPI runs in softirq (vanilla) or in a kthread, with one netserver per flow.

Examples:
  napilab reproduce                                  # the full default table, about 12 s on 2 cores
  napilab reproduce --sizes 1,256 --flows 1,25,200   # a part of it
  napilab reproduce --json > table.json
  napilab reproduce --html reproduce.html            # the table, plus charts in one HTML page

Output: kpps per configuration with the delta against vanilla (the seed's layout), the seed's figure
and the model's error where the seed gives one, the mean absolute percentage error per configuration,
and checks of the trend the seed shows. --json prints {"rows":[{"size","flows","vanilla",
"guestThreaded","bothThreaded","seed","error","offeredKpps"}], "mape", "trend", "profile"}.`,
    )
    .action(async (o) => {
      const profile = loadProfile(o.profile);
      requireHvFigures(profile);
      const sizes = parseList(o.sizes, (s) => parseSize(s, "--sizes item"), "--sizes");
      const flows = parseList(o.flows, (s) => parseInteger(s, "--flows item", 1, 10_000), "--flows");
      const durationNs = parseDuration(o.duration, "s", "--duration");
      // a cell needs simulated time to count deliveries in (0 gave NaN rates); a minute is plenty
      if (durationNs < MIN_DURATION_NS || durationNs > MAX_DURATION_NS)
        throw new InputError(
          `invalid --duration '${o.duration}': each cell measures ${formatDuration(MIN_DURATION_NS)} to ${formatDuration(MAX_DURATION_NS)} of simulated time`,
        );
      const jobs = o.jobs ? parseInteger(o.jobs, "--jobs", 0, 256) : cpus().length;
      const seed = parseInteger(o.seed, "--seed", 0, 2 ** 32 - 1);
      if (o.html) checkHtmlPath(o.html);
      for (const size of sizes)
        for (const f of flows) validateSeedCell({ profile, size, flows: f, config: "vanilla" });
      const total = sizes.length * flows.length * SEED_CONFIGS.length;
      const progress = startProgress(total, "reproducing");
      const r = await reproduceTable({
        profile,
        sizes,
        flows,
        durationNs,
        jobs,
        seed,
        onProgress: (d) => progress.tick(d),
      });
      progress.stop();
      const line = (size: number) =>
        lineRateDps(udpFraming(size, profile.figures.mtu), profile.figures.wireBitsPerSecond) / 1000;
      const checks = trendChecks(r.rows, line);
      const doc = {
        profile: profile.name,
        rows: r.rows.map((row) => ({
          size: row.size,
          flows: row.flows,
          vanilla: row.vanilla,
          guestThreaded: row.guestThreaded,
          bothThreaded: row.bothThreaded,
          seed: row.seed ?? null,
          error: row.error ?? null,
          offeredKpps: Math.round(senderRateDps(profile, row.size, row.flows) / 100) / 10,
        })),
        mape: r.mape,
        cellsCompared: r.cellsCompared,
        trend: checks,
        wallMs: r.wallMs,
      };
      if (o.html) await writeHtmlReport(o.html, [doc], "this reproduce run");
      if (o.json) printJson(doc);
      else printTable(r, checks, profile.name);
    });
}
