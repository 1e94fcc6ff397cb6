import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createVethBed, runCli, type VethBed } from "./fixture.js";

function oneLineError(r: { stderr: string }): void {
  assert.equal(r.stderr.trim().split("\n").length, 1, `expected one line on stderr, got: ${r.stderr}`);
  assert.match(r.stderr, /^napilab: /);
}

describe("napilab napi (built CLI against the real kernel)", () => {
  let bed: VethBed;
  before(() => {
    bed = createVethBed(2);
  });
  after(() => bed?.cleanup());

  it("teaches its subcommands in --help", () => {
    const r = runCli(["napi", "--help"]);
    assert.equal(r.code, 0);
    for (const sub of ["list", "caps", "set", "pin", "sched"])
      assert.match(r.stdout, new RegExp(`\\b${sub}\\b`));
    const s = runCli(["napi", "sched", "--help"]);
    assert.match(s.stdout, /--runtime/);
    assert.match(s.stdout, /Examples:/);
  });

  it("lists NAPI instances as one JSON array with the documented keys", () => {
    const r = runCli(["napi", "list", "--netns", bed.nsB, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.equal(list.length, 2);
    for (const n of list) {
      for (const k of ["ifname", "ifindex", "id", "irq", "threaded", "pid", "cpus", "policy"])
        assert.ok(k in n, `missing ${k}`);
      assert.equal(n.ifname, "vb");
      assert.equal(n.threaded, "disabled");
    }
  });

  it("prints a table without --json, and keeps the kernel's missing features for napi caps", () => {
    const r = runCli(["napi", "list", "--netns", bed.nsB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /DEVICE\s+IFINDEX\s+DEV-SWITCH\s+NAPI/);
    assert.equal(r.stdout.split("\n").filter((l) => /^\s*vb\s/.test(l)).length, 2);
    assert.doesNotMatch(r.stdout, /note:/);
    const caps = JSON.parse(runCli(["napi", "caps", "--json", "--netns", bed.nsB]).stdout) as {
      notes: string[];
    };
    const human = runCli(["napi", "caps", "--netns", bed.nsB]);
    for (const note of caps.notes) {
      assert.ok(human.stdout.includes(`note: ${note}`));
      assert.ok(!r.stdout.includes(note));
    }
  });

  it("switches, pins and prioritises, reporting what the kernel reads back", () => {
    const set = runCli(["napi", "set", "vb", "--threaded", "enabled", "--netns", bed.nsB, "--json"]);
    assert.equal(set.code, 0, set.stderr);
    const changes = JSON.parse(set.stdout) as {
      before: { threaded: string };
      after: { threaded: string; pid: number; kthread: string; id: number };
    }[];
    assert.equal(changes.length, 2);
    for (const c of changes) {
      assert.equal(c.before.threaded, "disabled");
      assert.equal(c.after.threaded, "enabled");
      assert.equal(c.after.kthread, `napi/vb-${c.after.id}`);
    }
    const pin = runCli([
      "napi",
      "pin",
      `vb/${changes[0]?.after.id}`,
      "--cpus",
      "0",
      "--netns",
      bed.nsB,
      "--json",
    ]);
    assert.equal(pin.code, 0, pin.stderr);
    assert.deepEqual((JSON.parse(pin.stdout) as { after: { cpus: number[] } }[])[0]?.after.cpus, [0]);
    const sched = runCli(["napi", "sched", "vb", "--policy", "rr", "--prio", "3", "--netns", bed.nsB]);
    assert.equal(sched.code, 0, sched.stderr);
    assert.equal(sched.stdout.split("\n").filter((l) => /other nice 0\s+rr 3/.test(l)).length, 2);
    const list = JSON.parse(runCli(["napi", "list", "--netns", bed.nsB, "--json"]).stdout) as {
      policy: unknown;
    }[];
    for (const n of list) assert.deepEqual(n.policy, { policy: "rr", priority: 3 });
  });

  it("rejects bad input with one line and exit 2, before changing anything", () => {
    const cases: [string[], RegExp][] = [
      [["napi", "set", "nodev0", "--threaded", "enabled", "--netns", bed.nsB], /no device 'nodev0'/],
      [["napi", "set", "vb/99999", "--threaded", "enabled", "--netns", bed.nsB], /no NAPI id 99999/],
      [["napi", "set", "vb", "--threaded", "sometimes", "--netns", bed.nsB], /invalid NAPI mode/],
      [["napi", "pin", "vb", "--cpus", "4000", "--netns", bed.nsB], /offline or absent/],
      [["napi", "pin", "vb", "--cpus", "1-0", "--netns", bed.nsB], /runs backwards/],
      [["napi", "sched", "vb", "--policy", "fifo", "--netns", bed.nsB], /needs --prio/],
      [["napi", "sched", "vb", "--policy", "other", "--nice", "40", "--netns", bed.nsB], /must be -20 to 19/],
      [
        [
          "napi",
          "sched",
          "vb",
          "--policy",
          "deadline",
          "--runtime",
          "2ms",
          "--period",
          "1ms",
          "--netns",
          bed.nsB,
        ],
        /runtime must not exceed/,
      ],
      [["napi", "list", "--netns", "napilab-test-no-such-ns"], /unknown network namespace/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      oneLineError(r);
      assert.match(r.stderr, msg);
    }
    const list = JSON.parse(runCli(["napi", "list", "--netns", bed.nsB, "--json"]).stdout) as {
      policy: unknown;
    }[];
    for (const n of list) assert.deepEqual(n.policy, { policy: "rr", priority: 3 });
  });

  it("reports host conditions with one line and exit 1", () => {
    // a DEV target is the device switch: handed to the kernel, whose refusal (no NAPIs yet) is explained
    const noNapi = runCli(["napi", "set", "va", "--threaded", "enabled", "--netns", bed.nsA]);
    assert.equal(noNapi.code, 1);
    oneLineError(noNapi);
    assert.match(
      noNapi.stderr,
      /kernel refuses \/sys\/class\/net\/va\/threaded.*no NAPI instances.*policy keep/,
    );
    const perNapi = runCli([
      "napi",
      "set",
      "va",
      "--threaded",
      "enabled",
      "--via",
      "netlink",
      "--netns",
      bed.nsA,
    ]);
    assert.equal(perNapi.code, 1);
    assert.match(perNapi.stderr, /no NAPI instances.*gro on/);
    const caps = JSON.parse(runCli(["napi", "caps", "--json"]).stdout) as { busyPoll: boolean };
    if (!caps.busyPoll) {
      const bp = runCli(["napi", "set", "vb", "--threaded", "busy-poll", "--netns", bed.nsB]);
      assert.equal(bp.code, 1);
      oneLineError(bp);
      assert.match(bp.stderr, /busy-poll/);
    }
  });

  it("tells an unprivileged user which capability is missing", () => {
    const cases: [string[], RegExp][] = [
      [["napi", "set", "vb", "--threaded", "disabled", "--netns", bed.nsB], /needs CAP_NET_ADMIN/],
      [["napi", "pin", "vb", "--cpus", "0", "--netns", bed.nsB], /needs CAP_SYS_NICE/],
      [["napi", "sched", "vb", "--policy", "other", "--netns", bed.nsB], /needs CAP_SYS_NICE/],
      [["napi", "list", "--netns", bed.nsB], /needs CAP_SYS_ADMIN/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args, { unprivileged: true });
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      oneLineError(r);
      assert.match(r.stderr, msg);
    }
    const list = JSON.parse(runCli(["napi", "list", "--netns", bed.nsB, "--json"]).stdout) as {
      threaded: string;
    }[];
    assert.ok(list.every((n) => n.threaded === "enabled"));
  });
});
