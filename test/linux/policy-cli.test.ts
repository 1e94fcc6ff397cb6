/**
 * `napilab policy check|diff|apply` against the real kernel in namespaces of their own, asserting
 * on the kernel's state (sysfs, napi-get, /proc), plus a device that vanishes while being applied.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HostError } from "../../src/core/errors.js";
import { formatCpuList } from "../../src/core/units.js";
import { onlineCpus, withSysfs } from "../../src/linux/index.js";
import { HostSession, parsePolicy, reconcile } from "../../src/linux/policy/index.js";
import { createVethBed, runCli, type VethBed } from "./fixture.js";
import { cpusAllowed, kernelNapis, kernelSched, sysfsThreaded } from "./policy-kernel.js";

const cpus = onlineCpus();
const all = formatCpuList(cpus);

function oneLine(r: { stderr: string }): void {
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^napilab: /);
}

describe("napilab policy check, diff, apply (real kernel, own namespaces)", () => {
  let bed: VethBed;
  let dir: string;
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  before(() => {
    bed = createVethBed(4);
    dir = mkdtempSync(join(tmpdir(), "napilab-policy-test-"));
  });
  after(() => {
    bed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const good = () =>
    file(
      "good.yaml",
      `version: 1
rules:
  - device: vb
    threaded: enabled
    cpus: "${all}"
    spread: true
    sched: { policy: fifo, prio: 10 }
  - device: vb
    queues: 3
    sched: { policy: other, nice: -5 }
`,
    );

  it("check: exit 2 and one line naming file:line:col and the field for each bad policy", () => {
    const base = "version: 1\nrules:\n  - device: vb\n";
    const cases: [string, RegExp][] = [
      [
        `${base}    sched: { policy: fifo, prio: 0 }\n`,
        /bad\.yaml:4:34: rules\[0\]\.sched\.prio: real-time priority must be 1 to 99/,
      ],
      [
        `${base}    sched: { policy: deadline, runtime: 2ms, deadline: 1ms }\n`,
        /bad\.yaml:4:\d+: rules\[0\]\.sched\.runtime: runtime must not exceed deadline/,
      ],
      [
        `${base}    threaded: enabled\n    colour: blue\n`,
        /bad\.yaml:5:5: rules\[0\]\.colour: unknown key 'colour'/,
      ],
      [`${base}    cpus: "0-"\n`, /bad\.yaml:4:11: rules\[0\]\.cpus: invalid CPU list '0-'/],
      [
        `${base}    cpus: "0-4095"\n`,
        /bad\.yaml:4:11: rules\[0\]\.cpus: names CPU .*4095, which this host does not have online/,
      ],
    ];
    for (const [text, msg] of cases) {
      const r = runCli(["policy", "check", file("bad.yaml", text)]);
      assert.equal(r.code, 2, `${text}: ${r.stderr}`);
      oneLine(r);
      assert.match(r.stderr, msg);
    }
    const missing = runCli(["policy", "check", join(dir, "nope.yaml")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: cannot read the policy file \(no such file\)/);
    const ok = runCli(["policy", "check", good(), "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { rules: unknown[] }).rules.length, 2);
  });

  it("diff: lists what would change on the real device and changes nothing", () => {
    const r = runCli(["policy", "diff", good(), "--netns", bed.nsB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /vb \(device\)\s+-\s+threaded switch\s+disabled\s+enabled/);
    assert.equal(r.stdout.split("\n").filter((l) => /^\s*vb #\d\s+\(new\)\s+sched/.test(l)).length, 4);
    const j = JSON.parse(runCli(["policy", "diff", good(), "--netns", bed.nsB, "--json"]).stdout) as {
      changes: { kind: string }[];
    };
    assert.equal(j.changes.filter((c) => c.kind === "device-threaded").length, 1);
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "0");
    assert.ok(kernelNapis(bed.nsB, "vb").every((n) => n.threaded === "disabled" && n.pid === null));
  });

  it("apply: the kernel holds the declared switch, placement and class; a second diff is empty", () => {
    const r = runCli(["policy", "apply", good(), "--netns", bed.nsB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /applied 9 change\(s\)/);
    assert.equal(sysfsThreaded(bed.nsB, "vb"), "1");
    const napis = kernelNapis(bed.nsB, "vb");
    assert.equal(napis.length, 4);
    napis.forEach((n, i) => {
      assert.ok(n.pid !== null);
      assert.equal(cpusAllowed(n.pid), String(cpus[i % cpus.length]));
      assert.equal(kernelSched(n.pid), i === 3 ? "other nice -5" : "fifo 10");
    });
    const again = runCli(["policy", "diff", good(), "--netns", bed.nsB]);
    assert.match(again.stdout, /no changes: vb already match the policy/);
  });

  it("teaches the file format in --help, and says busy-poll is missing only where a rule asks for it", () => {
    const h = runCli(["policy", "--help"]);
    assert.equal(h.code, 0);
    for (const word of ["check", "diff", "apply", "keep", "queues:", "spread:", "avoid-cpus:", "driver:"])
      assert.ok(h.stdout.includes(word), `policy --help mentions ${word}`);
    assert.match(runCli(["policy", "keep", "--help"]).stdout, /SIGHUP reloads/);
    const caps = JSON.parse(runCli(["napi", "caps", "--json"]).stdout) as { busyPoll: boolean };
    const bp = file("bp.yaml", "version: 1\nrules:\n  - device: vb\n    threaded: busy-poll\n");
    const d = runCli(["policy", "diff", good(), "--netns", bed.nsB]);
    assert.doesNotMatch(d.stdout, /busy-poll/);
    if (!caps.busyPoll) {
      const r = runCli(["policy", "apply", bp, "--netns", bed.nsB]);
      assert.equal(r.code, 1);
      oneLine(r);
      assert.match(r.stderr, /does not support threaded busy-poll, which rule 1 of .*bp\.yaml asks for/);
      assert.match(
        runCli(["policy", "diff", bp, "--netns", bed.nsB]).stdout,
        /note: this kernel .* busy-poll/,
      );
    }
  });

  it("apply and keep tell an unprivileged user which capability is missing, and change nothing", () => {
    const before = sysfsThreaded(bed.nsB, "vb");
    for (const cmd of ["apply", "keep"]) {
      const r = runCli(["policy", cmd, good()], { unprivileged: true });
      assert.equal(r.code, 1, r.stderr);
      oneLine(r);
      assert.match(r.stderr, /needs CAP_NET_ADMIN and CAP_SYS_NICE/);
    }
    assert.equal(sysfsThreaded(bed.nsB, "vb"), before);
  });

  it("apply refuses an unknown namespace or a disagreeing --netns with exit 2", () => {
    const r = runCli(["policy", "apply", good(), "--netns", "napilab-test-no-such-ns"]);
    assert.equal(r.code, 2);
    oneLine(r);
    const f = file("ns.yaml", `version: 1\nnetns: ${bed.nsA}\nrules:\n  - device: vb\n    cpus: 0\n`);
    const d = runCli(["policy", "diff", f, "--netns", bed.nsB]);
    assert.equal(d.code, 2);
    assert.match(d.stderr, /disagrees with netns/);
  });

  it("a device that vanishes while being applied: apply restores what it changed and says so; keep goes on", () => {
    const pair = (dev: string, peer: string) => {
      execFileSync("ip", ["-n", bed.nsB, "link", "add", dev, "type", "veth", "peer", "name", peer]);
      for (const d of [dev, peer]) execFileSync("ip", ["-n", bed.nsB, "link", "set", d, "up"]);
      execFileSync("ip", ["netns", "exec", bed.nsB, "ethtool", "-K", dev, "gro", "on"], { stdio: "ignore" });
    };
    pair("vxa", "pxa");
    pair("vxb", "pxb");
    const p = parsePolicy("version: 1\nrules:\n  - device: 'vx?'\n    threaded: enabled\n", "vx.yaml");
    /** After the first action, delete the other matched device (its veth pair goes with it). */
    const vanishing = () => {
      let victim: string | undefined;
      return (e: { action: { ifname: string } }) => {
        if (victim !== undefined) return;
        victim = e.action.ifname === "vxa" ? "vxb" : "vxa";
        execFileSync("ip", ["-n", bed.nsB, "link", "del", victim]);
      };
    };
    const session = HostSession.open(bed.nsB);
    try {
      const hook = vanishing();
      let first = "";
      assert.throws(
        () =>
          withSysfs(bed.nsB, (sysfs) =>
            reconcile(session, p, sysfs, {
              transactional: true,
              log: (e) => {
                first ||= e.action.ifname;
                hook(e);
              },
            }),
          ),
        (e: Error) =>
          e instanceof HostError &&
          /no device 'vx[ab]'|vanished|no such/.test(e.message) &&
          /restored/.test(e.message),
      );
      assert.equal(sysfsThreaded(bed.nsB, first), "0", "the first device's switch was rolled back");
    } finally {
      session.close();
    }
    // best effort (keep): the same vanishing is logged and the rest is applied
    pair("vxc", "pxc");
    const s2 = HostSession.open(bed.nsB);
    try {
      const lines: { ok: boolean; line: string; action: { ifname: string } }[] = [];
      const hook = vanishing();
      const r = withSysfs(bed.nsB, (sysfs) =>
        reconcile(s2, p, sysfs, {
          transactional: false,
          log: (e) => {
            lines.push(e);
            hook(e);
          },
        }),
      );
      const ok = lines.filter((l) => l.ok).map((l) => l.action.ifname);
      assert.ok(
        lines.some((l) => !l.ok),
        JSON.stringify(lines),
      );
      assert.ok(r.failed >= 1);
      for (const d of ok) assert.equal(sysfsThreaded(bed.nsB, d), "1");
    } finally {
      s2.close();
    }
  });
});
