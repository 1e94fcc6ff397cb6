/** Runs the built CLI (npm test builds before testing) as a user would; shared by every CLI test. */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

export const CLI = resolve("dist/cli/main.js");

/**
 * setpriv (util-linux) arguments that drop every capability while staying uid 0: the way the tests
 * play an unprivileged user. Switching to another uid instead would need the checkout to be
 * readable by that user, which a clone under /root is not.
 */
const DROP_ALL_CAPS = ["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--"];

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { unprivileged?: boolean; timeoutMs?: number; input?: string } = {},
): CliRun {
  const [cmd, argv] = opts.unprivileged
    ? ["setpriv", [...DROP_ALL_CAPS, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: opts.timeoutMs ?? 120_000, input: opts.input });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
