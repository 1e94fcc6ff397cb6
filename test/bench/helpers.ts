/** Helpers shared by the bench tests: run the built CLI, and look at what runs left on the host. */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "../support/cli.js";

export { CLI, runCli } from "../support/cli.js";
/**
 * Every bench test file records its runs in a state directory of its own (NAPILAB_STATE_DIR, which
 * the CLIs it starts inherit), so it never meets another suite's or another user's runs and lock.
 */
export const STATE_DIR = join(tmpdir(), `napilab-test-state-${process.pid}`);
process.env.NAPILAB_STATE_DIR = STATE_DIR;
mkdirSync(STATE_DIR, { recursive: true });
process.on("exit", () => rmSync(STATE_DIR, { recursive: true, force: true }));

/** Start the CLI in the background (for signal tests); resolves its exit status. */
export function startCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
    stdout: string;
  }>((res) => {
    child.on("close", (code, signal) => res({ code, signal, stderr, stdout }));
  });
  return { child, exited };
}

/** Named network namespaces whose name starts with napilab-<prefix>. */
export function namespacesWith(prefix: string): string[] {
  if (!existsSync("/run/netns")) return [];
  return readdirSync("/run/netns").filter((n) => n.startsWith(`napilab-${prefix}`));
}

export function stateFilesWith(prefix: string): string[] {
  if (!existsSync(STATE_DIR)) return [];
  return readdirSync(STATE_DIR).filter((n) => n.startsWith(prefix));
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/** A unique lower-case prefix per test, so runs never collide with each other or other suites. */
export function uniquePrefix(tag: string): string {
  return `${tag}${(Date.now() % 46656).toString(36)}`.slice(0, 8);
}

/** A task's CPU list as the kernel reports it, independently of napilab's own affinity code. */
export function cpusAllowed(pid: number): string {
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m?.[1] ?? "";
}
