/**
 * `napilab top`: the rx path as the scheduler sees it, live, per NAPI and per CPU, with diagnoses.
 * Thin layer over src/observe: parse options, then run the live view or print one sample.
 */
import type { Command } from "@commander-js/extra-typings";
import { InputError } from "../../core/errors.js";
import { formatDuration, parseDuration, parseInteger } from "../../core/units.js";
import { observedCpuCount, tuneForLongRunning } from "../../observe/long-running.js";
import { renderScreen, type SortKey } from "../../observe/render.js";
import { measureOnce } from "../../observe/sampler.js";
import { runTop } from "../../observe/top-live.js";
import { printJson } from "../output.js";

const SORTS: Record<string, SortKey> = { cpu: "c", wait: "w", pps: "p", name: "n" };

function durationOption(text: string, what: string, minNs: number, maxNs: number): number {
  let ns: number;
  try {
    ns = parseDuration(text, "s");
  } catch (err) {
    throw new InputError(`invalid ${what} '${text}': ${(err as Error).message.replace(/^.*?: /, "")}`);
  }
  if (ns < minNs || ns > maxNs)
    throw new InputError(
      `${what} ${text} is out of range (${formatDuration(minNs)} to ${formatDuration(maxNs)})`,
    );
  return ns;
}

export function registerTop(program: Command): void {
  program
    .command("top")
    .description(
      "live view of the rx path: per NAPI (mode, kthread, CPU now, CPU%, wait%, pps), per CPU (softirq, ksoftirqd, NAPI threads, drops, squeezes) and diagnoses",
    )
    .option("--interval <T>", "refresh every T (e.g. 1s, 500ms; plain numbers are seconds)", "1s")
    .option("--sort <KEY>", "initial sort of the NAPI rows: cpu, wait, pps or name", "cpu")
    .option("--once", "measure over --window, print one sample and exit")
    .option("--window <T>", "measurement window of --once", "1s")
    .option("-n, --iterations <N>", "exit after N refreshes (like top -n)")
    .option(
      "--json",
      "with --once: print one JSON document {napis, cpus, devices, udp, notes, diagnoses, intervalNs}",
    )
    .option("--netns <NAME>", "observe the devices of the named network namespace NAME (as in ip netns)")
    .option(
      "--proc-root <DIR>",
      "read /proc from DIR and NAPI instances from DIR/napilab-napis.json (fixtures, offline replay)",
    )
    .addHelpText(
      "after",
      "\nKeys: c sort by CPU%, w by wait%, p by packets/s, n by name; q (or Ctrl-C) quits.\n\n" +
        "Columns: CPU% is the NAPI kthread's CPU time over the interval (100 = one whole CPU); WAIT% the time\n" +
        "it was runnable but waited for a CPU (/proc/<pid>/schedstat); CPU the CPU it last ran on; PPS its rx\n" +
        "queues' packets/s (netdev qstats) or its device's when it is the only NAPI. Per CPU: SOFTIRQ% and IRQ%\n" +
        "from /proc/stat, KSOFTIRQD% the ksoftirqd thread, NAPI% the NAPI threads that last ran there, and\n" +
        "/proc/net/softnet_stat rates. In threaded mode rx work is thread time, not softirq time.\n\n" +
        "Diagnoses (one line each, with numbers): busy NAPI threads sharing one CPU while another is idle,\n" +
        "ksoftirqd saturated, NAPI threads waiting more than running, squeezes or drops growing, and a device\n" +
        "whose NAPIs disagree on mode, affinity or class (settings lost when the driver re-created one).\n\n" +
        "Examples:\n  napilab top\n  napilab top --netns lab --interval 2s --sort wait\n" +
        "  napilab top --once --json --netns lab | jq '.napis[] | {ifname, id, cpuPct}'\n",
    )
    .action(async (o) => {
      const intervalNs = durationOption(o.interval, "--interval", 100e6, 3600e9);
      const windowNs = durationOption(o.window, "--window", 50e6, 60e9);
      const iterations =
        o.iterations === undefined ? undefined : parseInteger(o.iterations, "--iterations", 1);
      const sort = SORTS[o.sort];
      if (sort === undefined) throw new InputError(`invalid --sort '${o.sort}': use cpu, wait, pps or name`);
      if (o.json && !o.once) throw new InputError("--json needs --once (the live view is for terminals)");
      const opts = { netns: o.netns, procRoot: o.procRoot };
      if (o.once) {
        const { view, diagnoses } = await measureOnce(opts, windowNs / 1e6);
        if (o.json) return printJson({ ...view, diagnoses });
        process.stdout.write(`${renderScreen(view, diagnoses, { sort }).join("\n")}\n`);
        return;
      }
      tuneForLongRunning(observedCpuCount(o.procRoot));
      await runTop({ ...opts, intervalNs, sort, iterations });
    });
}
