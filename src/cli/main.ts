#!/usr/bin/env node
/**
 * Entry point of the `napilab` command: builds the command tree and turns every way a run can fail
 * into the one convention of the project:
 * - bad input (a usage error found by commander, or an InputError): exit 2, one stderr line `napilab: ...`
 * - a host that cannot do it (HostError): exit 1, one line
 * - anything else is a bug: exit 70, one line, and the stack only with --debug (or NAPILAB_DEBUG=1)
 * A reader that closes stdout early (`napilab napi caps | head -1`) ends the output quietly.
 */
import { type Command, CommanderError } from "@commander-js/extra-typings";
import { UserError } from "../core/errors.js";
import { quietOnClosedStdout } from "./output.js";
import { createRootProgram } from "./root.js";

/** Exit status of a usage error (bad input), as getopt-style tools and shells use it (and the README promises). */
const EXIT_USAGE = 2;
/** Exit status of an internal error (a bug): EX_SOFTWARE. */
const EXIT_BUG = 70;

/**
 * Long-running commands started with only their own module loaded: `napilab exporter` and `napilab
 * top` stay up for days, and the rest of the tree (the model, bench, reports and their libraries)
 * would double their heap, and with it the cost of every garbage collection, for nothing.
 * Their `--help` and errors are the same either way (a subcommand's help does not list siblings).
 */
const STANDALONE: Record<string, () => Promise<(program: Command) => void>> = {
  exporter: async () => (await import("./commands/exporter.js")).registerExporter as (p: Command) => void,
  top: async () => (await import("./commands/top.js")).registerTop as (p: Command) => void,
};

/** The whole command tree, or the root with only the command asked for when that one stands alone. */
async function programFor(argv: readonly string[]): Promise<Command> {
  const at = argv.findIndex((a) => !a.startsWith("-"));
  const name = argv[at];
  // only global flags that change nothing before the command (`--help exporter` wants the full tree)
  if (
    name !== undefined &&
    Object.hasOwn(STANDALONE, name) &&
    argv.slice(0, at).every((a) => a === "--debug")
  ) {
    const program = createRootProgram() as unknown as Command;
    (await (STANDALONE[name] as () => Promise<(program: Command) => void>)())(program);
    return program;
  }
  return (await import("./program.js")).buildProgram() as unknown as Command;
}

function debugWanted(argv: readonly string[]): boolean {
  // read before parsing, so that even a usage error or a crash during parsing honours it
  return argv.includes("--debug") || process.env.NAPILAB_DEBUG === "1";
}

/** "napilab napi list" for the `list` subcommand. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: commander's parent is typed loosely by extra-typings
  for (let c: any = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Commander's message ("error: unknown option '--x'\n(Did you mean --y?)") as one line without its prefix. */
function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/i, "")
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .join(" ")
    .replace(/\(Did you mean/, "(did you mean");
}

interface UsageState {
  /** The one line to print for a usage error commander found. */
  line?: string;
}

/**
 * Make every command of the tree throw instead of exiting, and route commander's own messages
 * through one formatter. Walks the tree because exitOverride and configureOutput set on a parent do
 * not reach subcommands registered before (or added with addCommand).
 */
function harden(cmd: Command, state: UsageState): void {
  const path = commandPath(cmd);
  // "napilab: napi set: ..." for a subcommand, "napilab: ..." for the program itself
  const where = cmd.parent ? `${path.replace(/^\S+ /, "")}: ` : "";
  cmd.exitOverride();
  cmd.showHelpAfterError(false);
  cmd.configureOutput({
    writeOut: (s) => process.stdout.write(s),
    // commander writes to writeErr only for help shown as an error: a command group given no subcommand
    writeErr: () => {
      const subs = cmd.commands.map((c) => c.name()).join(", ");
      const [first, second] = cmd.args;
      if (first === "help" && second !== undefined) {
        // `napilab help bogus`
        state.line = `${where}unknown command '${second}': ${subs} (see ${path} --help)`;
        return;
      }
      state.line = `${cmd.parent ? `${where.replace(/: $/, "")} needs a command` : "no command given"}: ${subs} (see ${path} --help)`;
    },
    outputError: (message) => {
      state.line = `${where}${oneLine(message)} (see ${path} --help)`;
    },
  });
  for (const sub of cmd.commands) harden(sub as unknown as Command, state);
}

function stackOf(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

function messageOf(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

/** Report an error that is not the user's: one line, or the stack with --debug. */
function reportBug(err: unknown, debug: boolean): void {
  process.stderr.write(
    debug
      ? `napilab: internal error: ${stackOf(err)}\n`
      : `napilab: internal error: ${messageOf(err)} (run with --debug for the stack trace)\n`,
  );
}

export async function main(argv: string[]): Promise<number> {
  const debug = debugWanted(argv);
  const state: UsageState = {};
  try {
    const program = await programFor(argv);
    harden(program, state);
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander with exit code 0
      if (err.exitCode === 0) return 0;
      process.stderr.write(`napilab: ${state.line ?? oneLine(err.message)}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UserError) {
      process.stderr.write(`napilab: ${oneLine(err.message)}\n`);
      if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    reportBug(err, debug);
    return EXIT_BUG;
  }
}

quietOnClosedStdout((err) => {
  reportBug(err, debugWanted(process.argv));
  process.exit(EXIT_BUG);
});
process.on("uncaughtException", (err) => {
  reportBug(err, debugWanted(process.argv));
  process.exit(EXIT_BUG);
});
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    reportBug(err, debugWanted(process.argv));
    process.exitCode = EXIT_BUG;
  },
);
