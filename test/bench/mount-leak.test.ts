/**
 * The sysfs that `napi set --via sysfs --netns` (and bench's RPS writes) mount from inside another
 * network namespace must never reach the host's mount table, even when napilab is SIGKILLed in the
 * middle of it: it lives in a private mount namespace that dies with the process.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI } from "./helpers.js";

/**
 * sysfs mounts and mounts under this test's temp directory in the host's mount namespace (field 5
 * of /proc/self/mountinfo, with the fs type); other mounts come and go with other users' namespaces.
 */
function mounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const f = line.split(" ");
      const fstype = f[f.indexOf("-") + 1];
      return `${f[4]} ${fstype}`;
    })
    .filter((m) => m.endsWith(" sysfs") || m.includes("napilab-mountleak-"));
}

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  assert.equal(r.status, 0, `ip ${args.join(" ")}: ${r.stderr}`);
}

function runOnce(args: string[], env: NodeJS.ProcessEnv, killAfterMs?: number) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: "ignore", env });
  const started = Date.now();
  if (killAfterMs !== undefined) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  return new Promise<{ code: number | null; ms: number }>((res) =>
    child.on("exit", (code) => res({ code, ms: Date.now() - started })),
  );
}

describe("no sysfs mount outlives napilab, even on SIGKILL (root)", () => {
  const tag = `hb${process.pid}`;
  const nsA = `napilab-test-${tag}-ma`;
  const nsB = `napilab-test-${tag}-mb`;
  const tmp = mkdtempSync(join(tmpdir(), "napilab-mountleak-"));
  const env = { ...process.env, TMPDIR: tmp };

  before(() => {
    ip("netns", "add", nsA);
    ip("netns", "add", nsB);
    ip("link", "add", "va", "netns", nsA, "type", "veth", "peer", "name", "vb", "netns", nsB);
    ip("-n", nsA, "link", "set", "va", "up");
    ip("-n", nsB, "link", "set", "vb", "up");
    spawnSync("ip", ["netns", "exec", nsB, "ethtool", "-K", "vb", "gro", "on"]);
  });
  after(() => {
    for (const ns of [nsA, nsB]) spawnSync("ip", ["netns", "del", ns]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("a normal run mounts nothing on the host and works", async () => {
    const beforeMounts = mounts();
    const r = await runOnce(
      ["napi", "set", "vb", "--threaded", "enabled", "--via", "sysfs", "--netns", nsB],
      env,
    );
    assert.equal(r.code, 0);
    const back = spawnSync(process.execPath, [CLI, "napi", "list", "--netns", nsB, "--json"], {
      encoding: "utf8",
    });
    assert.match(back.stdout, /"threaded": "enabled"/);
    assert.deepEqual(mounts(), beforeMounts);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it("randomly timed SIGKILLs leave no mount and no directory behind", async () => {
    const args = (i: number) => [
      "napi",
      "set",
      "vb",
      "--threaded",
      i % 2 ? "enabled" : "disabled",
      "--via",
      "sysfs",
      "--netns",
      nsB,
    ];
    // a normal run's length: the shortest seen so far (the first run is often the slowest, with cold
    // caches, and a kill timed past the end of a faster run kills nothing)
    let full = (await runOnce(args(0), env)).ms;
    const beforeMounts = mounts();
    let killed = 0;
    for (let i = 1; i <= 40; i++) {
      // kill anywhere from start-up to the end of a normal run, most often in its second half
      const at = Math.round(full * (0.3 + Math.random() * 0.7));
      const r = await runOnce(args(i), env, at);
      if (r.code === null) killed++;
      else full = Math.min(full, r.ms);
    }
    assert.ok(killed >= 10, `only ${killed} of 40 runs were killed before they ended`);
    assert.deepEqual(
      mounts().filter((m) => !beforeMounts.includes(m)),
      [],
      "mounts left in the host's mount namespace",
    );
    assert.equal(
      mounts().filter((m) => m === "/sys sysfs").length,
      beforeMounts.filter((m) => m === "/sys sysfs").length,
    );
    assert.deepEqual(readdirSync(tmp), [], "directories left under TMPDIR");
  });
});
