/**
 * The policy file (schema, positions in errors) and the planner, without a kernel: the planner is
 * pure, so it is fed hand-built host states.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError } from "../../src/core/errors.js";
import type { HostDevice, HostNapi } from "../../src/linux/policy/host.js";
import { parsePolicy } from "../../src/linux/policy/load.js";
import { planPolicy } from "../../src/linux/policy/plan.js";

const CPUS = [0, 1, 2, 3];
const MINIMUM = `version: 1
rules:
  - device: b            # name or glob
    threaded: enabled    # disabled | enabled | busy-poll
    cpus: "0-1"          # CPUs the device's NAPI kthreads may use
    spread: true         # one CPU each, round-robin over cpus, instead of all on all
    sched: { policy: fifo, prio: 10 }
`;

function rejects(text: string, expected: RegExp): void {
  assert.throws(
    () => parsePolicy(text, "p.yaml", CPUS),
    (e: Error) => {
      assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
      assert.equal(e.message.split("\n").length, 1);
      assert.match(e.message, expected);
      return true;
    },
  );
}

describe("policy file", () => {
  it("accepts the issue's minimum shape and normalises it", () => {
    const p = parsePolicy(MINIMUM, "p.yaml", CPUS);
    assert.equal(p.rules.length, 1);
    const r = p.rules[0];
    assert.deepEqual(
      {
        device: r?.device,
        threaded: r?.threaded,
        cpus: r?.cpus,
        spread: r?.spread,
        sched: r?.sched,
        where: r?.where,
      },
      {
        device: "b",
        threaded: "enabled",
        cpus: [0, 1],
        spread: true,
        sched: { policy: "fifo", priority: 10 },
        where: "p.yaml:3:5",
      },
    );
  });

  it("names file, line, column and field for each kind of bad policy", () => {
    rejects(
      MINIMUM.replace("prio: 10", "prio: 0"),
      /^p\.yaml:7:34: rules\[0\]\.sched\.prio: real-time priority must be 1 to 99/,
    );
    rejects(
      MINIMUM.replace("{ policy: fifo, prio: 10 }", "{ policy: deadline, runtime: 2ms, deadline: 1ms }"),
      /^p\.yaml:7:\d+: rules\[0\]\.sched\.runtime: runtime must not exceed deadline/,
    );
    rejects(
      MINIMUM.replace("spread: true", "spraed: true"),
      /^p\.yaml:6:5: rules\[0\]\.spraed: unknown key 'spraed'/,
    );
    rejects(
      MINIMUM.replace('"0-1"', '"1-0"'),
      /^p\.yaml:5:11: rules\[0\]\.cpus: invalid CPU list '1-0': range '1-0' runs backwards/,
    );
    rejects(MINIMUM.replace('"0-1"', '"0,x"'), /^p\.yaml:5:11: rules\[0\]\.cpus: invalid CPU list/);
    rejects(
      MINIMUM.replace('"0-1"', '"2-7"'),
      /^p\.yaml:5:11: rules\[0\]\.cpus: names CPU 4-7, which this host does not have online \(online: 0-3\)/,
    );
    rejects(MINIMUM.replace("version: 1", "version: 2"), /^p\.yaml:1:10: version: version must be 1/);
    rejects(
      MINIMUM.replace("threaded: enabled", "threaded: sometimes"),
      /^p\.yaml:4:15: rules\[0\]\.threaded: threaded must be/,
    );
    rejects("version: 1\nrules: []\n", /^p\.yaml:2:8: rules: a policy needs at least one rule/);
    rejects("version: 1\nrules:\n  - device: b\n", /rules\[0\]: the rule declares nothing/);
    rejects(
      "version: 1\nrules:\n  - threaded: enabled\n",
      /^p\.yaml:3:5: rules\[0\]\.device: required, but missing/,
    );
    rejects(
      "version: 1\nrules:\n  - device: b\n    sched: { policy: deadline, runtime: 1ms, period: 10ms }\n    cpus: 0\n",
      /rules\[0\]\.sched: a SCHED_DEADLINE kthread must keep every CPU/,
    );
    rejects(
      "version: 1\nrules:\n  - device: b\n    cpus: 0-1\n    avoid-cpus: 0-1\n",
      /rules\[0\]: no CPU left once the avoided CPUs/,
    );
    rejects("version: 1\nrules: [\n", /^p\.yaml:\d+:\d+: not valid YAML/);
    rejects("version: 1\nversion: 1\nrules: []\n", /not valid YAML.*[Uu]nique|not valid YAML/);
    rejects("x".repeat(300 * 1024), /larger than 256 KiB/);
  });

  it("accepts the extensions: globs, driver, per-queue rules, nice, rr, deadline, avoided CPUs, netns", () => {
    const p = parsePolicy(
      `version: 1
netns: lab
rescan: 2s
rules:
  - device: "eth*"
    driver: "mlx5*"
    threaded: enabled
    avoid-cpus: "0"
    spread: true
  - device: eth0
    queues: "0-1"
    sched: { policy: rr, prio: 5 }
  - device: eth1
    queues: 2
    sched: { policy: other, nice: -5 }
  - device: eth2
    threaded: enabled
    sched: { policy: deadline, runtime: 100us, deadline: 1ms, period: 2ms }
`,
      "p.yaml",
      CPUS,
    );
    assert.equal(p.netns, "lab");
    assert.equal(p.rescanNs, 2_000_000_000);
    assert.deepEqual(p.rules[0]?.cpus, [1, 2, 3]); // all online CPUs but the avoided one
    assert.deepEqual(p.rules[1]?.queues, [0, 1]);
    assert.deepEqual(p.rules[2]?.sched, { policy: "other", nice: -5 });
    assert.deepEqual(p.rules[3]?.sched, {
      policy: "deadline",
      runtimeNs: 100_000,
      deadlineNs: 1_000_000,
      periodNs: 2_000_000,
    });
  });
});

function napi(ifname: string, id: number, key: number, over: Partial<HostNapi> = {}): HostNapi {
  return {
    ifname,
    ifindex: 2,
    id,
    key,
    keyKind: "position",
    threaded: "enabled",
    pid: 1000 + id,
    kthread: `napi/${ifname}-${id}`,
    cpus: [0, 1, 2, 3],
    sched: { policy: "other", nice: 0 },
    ...over,
  };
}

function device(ifname: string, napis: HostNapi[], over: Partial<HostDevice> = {}): HostDevice {
  return { ifindex: 2, ifname, up: true, deviceThreaded: "enabled", napis, ...over };
}

describe("policy plan", () => {
  const policy = parsePolicy(MINIMUM.replace("device: b ", "device: 'b*'"), "p.yaml", CPUS);

  it("spreads kthreads one CPU each, round-robin, in queue order, keyed by position not NAPI id", () => {
    const plan = planPolicy(policy, {
      devices: [device("b0", [napi("b0", 90, 2), napi("b0", 70, 0), napi("b0", 80, 1)])],
    });
    const aff = plan.actions.filter((a) => a.kind === "affinity");
    assert.deepEqual(
      aff.map((a) => [a.kind === "affinity" ? a.label : "", a.kind === "affinity" ? a.to : []]),
      [
        ["b0 #0", [0]],
        ["b0 #1", [1]],
        ["b0 #2", [0]],
      ],
    );
    assert.equal(plan.actions.filter((a) => a.kind === "sched").length, 3);
  });

  it("never touches a device the policy does not match, or what a rule does not declare", () => {
    const plan = planPolicy(policy, {
      devices: [device("eth0", [napi("eth0", 5, 0)], { deviceThreaded: "disabled" })],
    });
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.matched, []);
    const onlyCpus = parsePolicy("version: 1\nrules:\n  - device: b\n    cpus: 1\n", "p.yaml", CPUS);
    const p2 = planPolicy(onlyCpus, {
      devices: [
        device("b", [napi("b", 5, 0, { sched: { policy: "fifo", priority: 3 } })], {
          deviceThreaded: "disabled",
        }),
      ],
    });
    assert.deepEqual(
      p2.actions.map((a) => a.kind),
      ["affinity"],
    );
  });

  it("sets the device switch for a whole-device rule, and waits for kthreads it will create", () => {
    const plan = planPolicy(policy, {
      devices: [
        device(
          "b",
          [napi("b", 5, 0, { threaded: "disabled", pid: null, kthread: null, cpus: null, sched: null })],
          { deviceThreaded: "disabled" },
        ),
      ],
    });
    assert.equal(plan.actions[0]?.kind, "device-threaded");
    const pending = plan.actions.filter((a) => a.kind === "affinity" || a.kind === "sched");
    assert.equal(pending.length, 2);
    assert.ok(pending.every((a) => "pid" in a && a.pid === null));
  });

  it("lets a per-queue rule override a device rule field by field, per NAPI through netlink", () => {
    const p = parsePolicy(`${MINIMUM}  - device: b\n    queues: 1\n    threaded: disabled\n`, "p.yaml", CPUS);
    const plan = planPolicy(p, { devices: [device("b", [napi("b", 5, 0), napi("b", 6, 1)])] });
    const t = plan.actions.filter((a) => a.kind === "napi-threaded");
    assert.equal(t.length, 1);
    assert.equal(t[0]?.kind === "napi-threaded" && t[0].label, "b #1");
    assert.ok(!plan.actions.some((a) => a.kind !== "napi-threaded" && "label" in a && a.label === "b #1"));
    assert.ok(plan.notes.some((n) => /b #1: in softirq mode/.test(n)));
  });

  it("says when a device has no NAPIs instead of planning a write the kernel refuses", () => {
    const plan = planPolicy(policy, {
      devices: [device("b", [], { up: false, deviceThreaded: "disabled" })],
    });
    assert.deepEqual(plan.actions, []);
    assert.match(plan.notes[0] ?? "", /b: no NAPI instances now \(link down\)/);
  });

  it("matches devices by driver glob", () => {
    const p = parsePolicy(
      "version: 1\nrules:\n  - device: '*'\n    driver: veth\n    cpus: 1\n",
      "p.yaml",
      CPUS,
    );
    const plan = planPolicy(p, {
      devices: [
        device("a", [napi("a", 1, 0)], { driver: "veth" }),
        device("e", [napi("e", 2, 0)], { driver: "e1000" }),
      ],
    });
    assert.deepEqual(
      plan.matched.map((m) => m.ifname),
      ["a"],
    );
  });
});
