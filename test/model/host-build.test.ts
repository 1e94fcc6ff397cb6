// The host builder (src/model/host): a HostSpec is plain data, buildHost turns it into the wired
// mechanism objects in a fixed order, and refuses a spec that names what is not there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError } from "../../src/core/errors.js";
import { buildHost, type Host } from "../../src/model/host/build.js";
import type { HostSpec } from "../../src/model/host/spec.js";
import { loadProfile } from "../../src/model/profile.js";
import { benchHostSpec } from "../../src/model/scenarios/bench-host.js";
import { seedHostSpec } from "../../src/model/scenarios/seed.js";

const profile = loadProfile("default");

/** A 2-CPU host, one NIC with 2 queues (IRQs crossed: queue 0 on CPU 1), threaded NAPI, 4 flows, 1 hog. */
function twoQueues(): HostSpec {
  return {
    profile,
    seed: 3,
    kernels: [{ name: "host", cpus: 2, softirqPolicy: "6.5", fairClass: "eevdf" }],
    flows: {
      count: 4,
      payloadBytes: 64,
      ratePps: 400_000,
      src: { ip: "198.18.0.1", port: 10000, portStep: 1 },
      dst: { ip: "198.18.0.2", port: 20000, portStep: 1 },
      device: "eth0",
      kernel: "host",
    },
    nics: [
      {
        kernel: "host",
        dev: "eth0",
        queues: [
          { irqCpu: 1, threadCpu: 1 },
          { irqCpu: 0, threadCpu: 0 },
        ],
        napi: { mode: "threaded" },
      },
    ],
    receivers: { name: "netserver", cpus: null, startCpus: [0, 1], recv: { kind: "netserver" } },
    hogs: [{ kernel: "host", name: "hog-0", cpus: [1], startCpu: 1 }],
  };
}

function delivered(h: Host): number[] {
  return h.flows.map((f) => f.socket?.delivered ?? 0);
}

function run(h: Host, ns: number): Host {
  h.start();
  h.q.runUntil(ns);
  return h;
}

const refuses = (spec: HostSpec, field: RegExp) =>
  assert.throws(
    () => buildHost(spec),
    (e: unknown) => e instanceof InputError && /^host spec: /.test(e.message) && field.test(e.message),
  );

describe("buildHost", () => {
  it("builds the objects a 2-CPU, 2-queue spec describes, in the builder's order", () => {
    const h = buildHost(twoQueues());
    const k = h.kernel("host");
    assert.equal(h.kernels.length, 1);
    assert.equal(k.cpus.length, 2);
    const nic = h.nics[0];
    assert.ok(nic);
    assert.deepEqual(
      nic.queues.map((q) => q.irqCpu),
      [1, 0],
    );
    assert.deepEqual(
      nic.napis.map((n) => [n.name, n.mode, n.thread?.name, n.thread?.cpu]),
      [
        ["eth0-rx-0", "threaded", "napi/eth0-1", 1],
        ["eth0-rx-1", "threaded", "napi/eth0-2", 0],
      ],
    );
    assert.equal(h.flows.length, 4);
    assert.ok(h.flows.every((f) => f.socket !== null && f.rateDps === 100_000));
    // kernel threads first, then NAPI kthreads, receivers, hogs: task ids follow this order
    assert.deepEqual(
      k.tasks.map((t) => `${t.name}@${t.cpu}`),
      [
        "ksoftirqd/0@0",
        "ksoftirqd/1@1",
        "napi/eth0-1@1",
        "napi/eth0-2@0",
        "netserver-0@0",
        "netserver-1@1",
        "netserver-2@0",
        "netserver-3@1",
        "hog-0@1",
      ],
    );
    assert.equal(h.backlogs.length, 0, "no RPS, no backlogs");
    assert.equal(h.hypervisor, null);
  });

  it("wires what it builds: every flow is delivered, each through the queue its hash picks", () => {
    const h = run(buildHost(twoQueues()), 10e6);
    const nic = h.nics[0];
    assert.ok(nic);
    for (const [i, d] of delivered(h).entries()) assert.ok(d > 500, `flow ${i} delivered ${d}`);
    const expected = [0, 0];
    for (const f of h.flows) expected[f.hash % 2] = (expected[f.hash % 2] as number) + 1;
    const polled = nic.napis.map((n) => n.packets > 0);
    assert.deepEqual(
      polled,
      expected.map((n) => n > 0),
    );
    const arrived = nic.queues.reduce((s, q) => s + q.arrived, 0);
    assert.ok(arrived >= delivered(h).reduce((a, b) => a + b, 0));
    // the measurement window starts from zero everywhere but in the sockets
    h.resetStats();
    assert.deepEqual(
      nic.napis.map((n) => n.packets + n.polls),
      [0, 0],
    );
    assert.equal(
      nic.queues.reduce((s, q) => s + q.arrived + q.irqs, 0),
      0,
    );
    assert.ok(h.kernel("host").tasks.every((t) => t.sumExecNs === 0));
    assert.ok(
      delivered(h).every((d) => d > 500),
      "sockets keep counting",
    );
  });

  it("is deterministic and the spec survives JSON: same spec, same result", () => {
    const a = delivered(run(buildHost(twoQueues()), 5e6));
    const b = delivered(run(buildHost(JSON.parse(JSON.stringify(twoQueues())) as HostSpec), 5e6));
    assert.deepEqual(a, b);
    const other = delivered(run(buildHost({ ...twoQueues(), seed: 4 }), 5e6));
    assert.notDeepEqual(a, other, "the seed reaches the flows' hash and phases");
  });

  it("puts RPS backlogs on every CPU and steers the stack through them", () => {
    const spec = twoQueues();
    const veth = loadProfile("veth-host");
    spec.profile = veth;
    (spec.nics?.[0] as NonNullable<HostSpec["nics"]>[number]).rpsCpus = [1];
    const h = run(buildHost(spec), 10e6);
    assert.equal(h.backlogs.length, 2);
    assert.equal(h.stack.gro, false, "GRO ran before RPS, not again in process_backlog");
    assert.equal(h.backlogs[0]?.napi.packets, 0);
    assert.ok((h.backlogs[1]?.napi.packets ?? 0) > 0, "all of it steered to CPU 1");
  });

  it("builds the bench's veth with its sender, and the seed's host and guest", () => {
    const bench = buildHost(
      benchHostSpec({
        profile: loadProfile("veth-host"),
        mode: "threaded",
        size: 64,
        flows: 2,
        rxCpus: [1],
        txCpus: [0],
        durationNs: 1e6,
        background: 1,
      }),
    );
    assert.equal(bench.veths[0]?.napi.name, "nl-rx-rx-0");
    assert.deepEqual(bench.veths[0]?.napi.thread?.cpus, [1]);
    assert.equal(bench.senders[0]?.task.name, "sender");
    assert.deepEqual(
      bench.hogs.map((t) => t.name),
      ["other-0-0", "other-1-0"],
    );
    run(bench, 5e6);
    assert.ok((bench.senders[0]?.body?.sent ?? 0) > 0, "the sender ran and sent");
    assert.ok(delivered(bench).every((d) => d > 0));

    const seed = buildHost(
      seedHostSpec({ profile: loadProfile("seed-experiment"), size: 64, flows: 4, config: "guestThreaded" }),
    );
    assert.deepEqual(
      seed.kernels.map((k) => k.name),
      ["host", "guest"],
    );
    assert.equal(seed.hypervisor?.napi.thread?.name, "napi/virtio0-1");
    assert.deepEqual(
      seed.kernel("guest").tasks.map((t) => t.name),
      ["ksoftirqd/0", "napi/virtio0-1", "netserver-0", "netserver-1", "netserver-2", "netserver-3"],
    );
    run(seed, 10e6);
    assert.ok(delivered(seed).reduce((a, b) => a + b, 0) > 0, "frames reach the guest's sockets");
  });

  it("refuses a spec that names what is not there, naming the field", () => {
    const spec = twoQueues;
    const nic = (s: HostSpec) =>
      (s.nics as NonNullable<HostSpec["nics"]>)[0] as NonNullable<HostSpec["nics"]>[number];
    let s = spec();
    (nic(s).queues[1] as { irqCpu: number }).irqCpu = 2;
    refuses(s, /nics\[0\]\.queues\[1\]\.irqCpu is CPU 2, but kernel host has CPUs 0-1/);
    s = spec();
    s.nics?.push({ ...nic(s) });
    refuses(s, /nics\[1\]\.dev 'eth0' is a duplicate/);
    s = spec();
    nic(s).queues = [];
    refuses(s, /nics\[0\]\.queues needs at least one queue/);
    s = spec();
    s.kernels.push({ ...(s.kernels[0] as HostSpec["kernels"][number]) });
    refuses(s, /kernels\[1\]\.name 'host' is a duplicate/);
    s = spec();
    nic(s).kernel = "guest";
    refuses(s, /nics\[0\]\.kernel names kernel 'guest'/);
    s = spec();
    s.flows.device = "eth1";
    refuses(s, /flows\.device names device 'eth1'/);
    s = spec();
    nic(s).napi.threadCpus = [0, 5];
    refuses(s, /nics\[0\]\.napi\.threadCpus\[1\] is CPU 5/);
    s = spec();
    nic(s).napi.threadPolicy = { policy: "fifo", priority: 100 };
    refuses(s, /nics\[0\]\.napi\.threadPolicy/);
    s = spec();
    s.senders = [
      { kernel: "host", name: "tx", cpus: null, startCpu: 0, device: "eth0", msgsPerCall: 8, ratePps: 0 },
    ];
    refuses(s, /senders\[0\]\.device names 'eth0', which is not a veth/);
    s = spec();
    s.flows.src.ip = "198.18.0";
    refuses(s, /'198\.18\.0' is not an IPv4 address/);
    s = spec();
    s.hogs = [{ kernel: "host", name: "h", cpus: [], startCpu: 0 }];
    refuses(s, /hogs\[0\]\.cpus is empty/);
    s = spec();
    s.hogs = [{ kernel: "host", name: "h", cpus: [0], startCpu: 0, duty: 1.5 }];
    refuses(s, /hogs\[0\]\.duty must be a share of the CPU/);
    s = spec();
    s.flows.allocCpu = 7;
    refuses(s, /flows\.allocCpu is CPU 7/);
    s = spec();
    s.autogroup = { senders: ["nobody"], receivers: true };
    refuses(s, /autogroup\.senders names 'nobody'/);
  });

  it("wires the bench's skb defer lists, replayed other work and autogroup shares from the spec", () => {
    const base = {
      profile: loadProfile("veth-host"),
      mode: "threaded" as const,
      size: 64,
      flows: 1,
      rxCpus: [1],
      txCpus: [0],
      durationNs: 1e6,
    };
    const h = buildHost(benchHostSpec({ ...base, otherWork: [0, 30] }));
    // skb_attempt_defer_free: every socket frees to the sender's CPU's list
    assert.equal(h.deferLists.length, 2);
    assert.equal(h.flows[0]?.socket?.freeTo, h.deferLists[0]);
    assert.equal(h.veths[0]?.rx.deferLists, h.deferLists);
    // one replay task on CPU 1 only (CPU 0's share is 0), at nice -20, before the background hogs
    assert.deepEqual(
      h.hogs.map((t) => [t.name, t.cpu, t.policy]),
      [["other-1", 1, { policy: "other", nice: -20 }]],
    );
    // autogroup (the profile sets it): the sender alone on CPU 0 gets the group's share there, the
    // receiver alone on CPU 1 the rest, each less than a root-group task's 1024
    assert.ok((loadProfile("veth-host").figures.autogroup ?? 0) > 0);
    assert.equal(h.senders[0]?.task.weight, 512);
    assert.equal(h.receivers[0]?.weight, 512);
    assert.equal(h.veths[0]?.napi.thread?.weight, 1024);
    run(h, 5e6);
    assert.ok(h.deferLists[0]!.freed + h.deferLists[0]!.pending > 0, "read skbs went back to CPU 0");
  });
});
