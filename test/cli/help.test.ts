import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

/** Runs the built CLI (npm test builds before testing) as a user would. */
export function runCli(args: string[], opts: { input?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, ["dist/cli/main.js", ...args], {
    encoding: "utf8",
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("napilab CLI", () => {
  it("prints help with exit 0", () => {
    const r = runCli(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: napilab/);
  });
  it("rejects an unknown option with a non-zero exit", () => {
    const r = runCli(["--no-such-option"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option/);
  });
});
