/**
 * The root `napilab` command alone: name, version, global options and help text, no subcommands.
 * Kept apart from program.ts (which imports every command) so that a long-running command can be
 * started with only its own modules loaded (see main.ts).
 */
import { Command } from "@commander-js/extra-typings";

export const VERSION = "0.1.0";

export function createRootProgram(): Command {
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
  return program;
}
