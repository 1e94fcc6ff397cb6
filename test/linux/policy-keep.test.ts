/**
 * `napilab policy keep` on the real kernel, in namespaces of its own: veth with 4 rx queues and GRO,
 * a link flap and an `ethtool -L` channel change re-create NAPIs and kthreads; every new kthread
 * must get the declared placement and class, checked against the kernel (napi-get pids,
 * /proc Cpus_allowed_list, /proc/PID/stat policy and priority), never napilab's read-back.
 * SIGHUP reloads (a bad file keeps the old policy), SIGTERM exits 0 leaving the settings, and a
 * device the policy does not match is never touched.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { formatCpuList } from "../../src/core/units.js";
import { onlineCpus } from "../../src/linux/index.js";
import { CLI } from "../support/cli.js";
import { createVethBed, type VethBed } from "./fixture.js";
import { cpusAllowed, eventually, kernelNapis, kernelSched, sysfsThreaded } from "./policy-kernel.js";

const cpus = onlineCpus();

function policyText(prio: number): string {
  return `version: 1
rules:
  - device: vb
    threaded: enabled
    cpus: "${formatCpuList(cpus)}"
    spread: true
    sched: { policy: fifo, prio: ${prio} }
  - device: vb
    queues: 3
    sched: { policy: rr, prio: 2 }
`;
}

/** undefined when every NAPI of vb is threaded, with the declared CPU and class; else what differs. */
function mismatch(ns: string, prio: number, queues = 4): string | undefined {
  const napis = kernelNapis(ns, "vb");
  if (napis.length !== queues) return `${napis.length} NAPIs, expected ${queues}`;
  for (const [i, n] of napis.entries()) {
    if (n.pid === null) return `NAPI ${n.id} has no kthread`;
    try {
      const want = i === 3 ? "rr 2" : `fifo ${prio}`;
      const cpu = String(cpus[i % cpus.length]);
      if (cpusAllowed(n.pid) !== cpu)
        return `kthread ${n.pid} (#${i}) on CPUs ${cpusAllowed(n.pid)}, expected ${cpu}`;
      if (kernelSched(n.pid) !== want)
        return `kthread ${n.pid} (#${i}) is ${kernelSched(n.pid)}, expected ${want}`;
    } catch {
      return `kthread ${n.pid} went away`;
    }
  }
  return undefined;
}

interface LogLine {
  event: string;
  line: string;
  ok?: boolean;
  reason?: string;
}

describe("napilab policy keep (real kernel, own namespaces)", () => {
  let bed: VethBed;
  let dir: string;
  let keep: ChildProcess | undefined;
  const lines: LogLine[] = [];
  let file = "";

  before(() => {
    bed = createVethBed(4);
    dir = mkdtempSync(join(tmpdir(), "napilab-keep-test-"));
    file = join(dir, "policy.yaml");
    writeFileSync(file, policyText(10));
    // a device the policy does not match, threaded and pinned by hand: keep must leave it alone
    execFileSync("ip", ["-n", bed.nsB, "link", "add", "vc", "type", "veth", "peer", "name", "vd"]);
    for (const d of ["vc", "vd"]) execFileSync("ip", ["-n", bed.nsB, "link", "set", d, "up"]);
    execFileSync("ip", ["netns", "exec", bed.nsB, "ethtool", "-K", "vc", "gro", "on"], { stdio: "ignore" });
    execFileSync("ip", ["netns", "exec", bed.nsB, "sh", "-c", "echo 1 > /sys/class/net/vc/threaded"]);
  });
  after(() => {
    if (keep && keep.exitCode === null) keep.kill("SIGKILL");
    bed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const waitFor = (pred: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const seen = lines.find(pred);
      if (seen) return resolve(seen);
      const t = setInterval(() => {
        const l = lines.find(pred);
        if (l) {
          clearInterval(t);
          resolve(l);
        } else if (keep?.exitCode !== null) {
          clearInterval(t);
          reject(new Error(`keep exited (${keep?.exitCode}); log:\n${lines.map((x) => x.line).join("\n")}`));
        }
      }, 20);
      setTimeout(() => {
        clearInterval(t);
        reject(new Error(`timed out; log:\n${lines.map((x) => x.line).join("\n")}`));
      }, timeoutMs).unref();
    });

  it("applies at start: device switch on, kthreads spread and prioritised (kernel's view)", async () => {
    const vcBefore = kernelNapis(bed.nsB, "vc").map((n) => [
      cpusAllowed(n.pid as number),
      kernelSched(n.pid as number),
    ]);
    keep = spawn(
      process.execPath,
      [CLI, "policy", "keep", file, "--netns", bed.nsB, "--json", "--rescan", "30s"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    createInterface({ input: keep.stdout as NodeJS.ReadableStream }).on("line", (l) => {
      lines.push(JSON.parse(l) as LogLine);
    });
    await waitFor((l) => l.event === "settled" && l.reason === "start");
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "1");
    assert.equal(mismatch(bed.nsB, 10), undefined);
    const actions = lines.filter((l) => l.event === "action");
    assert.ok(
      actions.every((a) => / vb|^vb/.test(a.line)),
      "one line per action, each naming vb",
    );
    const vcAfter = kernelNapis(bed.nsB, "vc").map((n) => [
      cpusAllowed(n.pid as number),
      kernelSched(n.pid as number),
    ]);
    assert.deepEqual(vcAfter, vcBefore, "an unmatched device is not touched");
  });

  it("re-applies to the new NAPIs and kthreads after a link flap", async () => {
    const old = kernelNapis(bed.nsB, "vb").map((n) => n.id);
    execFileSync("ip", ["-n", bed.nsB, "link", "set", "vb", "down"]);
    execFileSync("ip", ["-n", bed.nsB, "link", "set", "vb", "up"]);
    assert.equal(await eventually(() => mismatch(bed.nsB, 10)), undefined);
    assert.ok(
      kernelNapis(bed.nsB, "vb").every((n) => !old.includes(n.id)),
      "the flap re-created the NAPIs",
    );
  });

  it("re-applies after ethtool -L shrinks and grows the rx channels", async () => {
    execFileSync("ip", ["netns", "exec", bed.nsB, "ethtool", "-L", "vb", "rx", "2"]);
    assert.equal(await eventually(() => mismatch(bed.nsB, 10, 2)), undefined);
    execFileSync("ip", ["netns", "exec", bed.nsB, "ethtool", "-L", "vb", "rx", "4"]);
    assert.equal(await eventually(() => mismatch(bed.nsB, 10)), undefined);
  });

  it("SIGHUP with a bad file keeps the old policy and logs why; with a good file applies the new one", async () => {
    writeFileSync(file, policyText(10).replace("prio: 10", "prio: 0"));
    keep?.kill("SIGHUP");
    const refused = await waitFor((l) => l.event === "reload-refused");
    assert.match(refused.line, /keeping the previous policy: .*policy\.yaml:7:\d+: rules\[0\]\.sched\.prio/);
    execFileSync("ip", ["-n", bed.nsB, "link", "set", "vb", "down"]);
    execFileSync("ip", ["-n", bed.nsB, "link", "set", "vb", "up"]);
    assert.equal(await eventually(() => mismatch(bed.nsB, 10)), undefined);
    writeFileSync(file, policyText(20));
    keep?.kill("SIGHUP");
    assert.equal(await eventually(() => mismatch(bed.nsB, 20)), undefined);
  });

  it("SIGTERM exits 0 and leaves the settings as they are", async () => {
    const proc = keep as ChildProcess;
    const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
    proc.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.equal(mismatch(bed.nsB, 20), undefined);
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "1");
  });
});
