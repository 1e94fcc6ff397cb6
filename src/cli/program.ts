/**
 * Builds the napilab command tree. Each pillar contributes a command group from its own module in
 * ./commands; this file only wires them together, so a new command never touches another's code.
 */
import { Command } from "@commander-js/extra-typings";
import { registerBench } from "./commands/bench.js";
import { registerExporter } from "./commands/exporter.js";
import { registerNapi } from "./commands/napi.js";
import { registerPolicy } from "./commands/policy.js";
import { registerReport } from "./commands/report.js";
import { registerReproduce } from "./commands/reproduce.js";
import { registerSim } from "./commands/sim.js";
import { registerTop } from "./commands/top.js";

export function buildProgram(): Command {
  const program = new Command()
    .name("napilab")
    .description(
      "Tooling for Linux threaded NAPI: model the rx path, control NAPI kthreads on a host, " +
        "benchmark softirq against threaded NAPI, and observe the rx path.",
    )
    .version(VERSION, "-V, --version")
    .option("--debug", "print the stack trace when napilab fails on a bug (also NAPILAB_DEBUG=1)")
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true });
  program.addHelpText(
    "after",
    "\nConventions: durations take units (200us, 2ms, 1.5s); rates take k/M suffixes (800k, 1.5M);\n" +
      "CPU lists use the kernel's format (0-3,6). Every reporting command has --json.\n",
  );
  // the order of --help: the main job first, then the model, host control, measurement
  registerReproduce(program);
  registerSim(program);
  registerNapi(program);
  registerPolicy(program);
  registerBench(program);
  registerTop(program);
  registerExporter(program);
  registerReport(program);
  return program;
}

export const VERSION = "0.1.0";
