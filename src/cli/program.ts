/**
 * Builds the napilab command tree. Each pillar contributes a command group from its own module in
 * ./commands; this file only wires them together, so a new command never touches another's code.
 */
import type { Command } from "@commander-js/extra-typings";
import { registerBench } from "./commands/bench.js";
import { registerExporter } from "./commands/exporter.js";
import { registerNapi } from "./commands/napi.js";
import { registerPolicy } from "./commands/policy.js";
import { registerReport } from "./commands/report.js";
import { registerReproduce } from "./commands/reproduce.js";
import { registerSim } from "./commands/sim.js";
import { registerTop } from "./commands/top.js";
import { createRootProgram, VERSION } from "./root.js";

export function buildProgram(): Command {
  const program = createRootProgram();
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

export { VERSION };
