import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventQueue } from "../../src/model/kernel/events.js";
import { Kernel } from "../../src/model/kernel/kernel.js";
import { Napi } from "../../src/model/kernel/napi.js";
import { Backlog } from "../../src/model/kernel/rps.js";
import { type Flow, LocalStack, UdpSocket } from "../../src/model/kernel/socket.js";
import { VethRx } from "../../src/model/kernel/veth.js";
import { udpFraming } from "../../src/model/kernel/wire.js";
import { loadProfile, type Profile } from "../../src/model/profile.js";
import { runBenchCell, type SimCell, vethTruesize } from "../../src/model/scenarios/bench-host.js";
import { runFlood } from "../../src/model/scenarios/flood.js";

const vethHost: Profile = loadProfile("veth-host-prior");

function host(cpus: number, figures: Partial<Profile["figures"]> = {}) {
  const q = new EventQueue();
  const k = new Kernel(q, {
    name: "t",
    cpus,
    figures: { ...vethHost.figures, ...figures },
    policy: "6.5",
    fairClass: "eevdf",
  });
  const framing = udpFraming(64, 1500);
  const flows: Flow[] = [0, 1].map((id) => ({
    id,
    framing,
    rateDps: 0,
    hash: id === 0 ? 0x1234 : 0x9876,
    socket: new UdpSocket(id, 212992, 2624),
    residue: 0,
  }));
  return { q, k, flows, stack: new LocalStack(k, flows) };
}

const cell = (o: Partial<Parameters<typeof runBenchCell>[0]> & { mode: SimCell["mode"] }): SimCell =>
  runBenchCell({
    profile: vethHost,
    size: 64,
    flows: 1,
    rxCpus: [1],
    txCpus: [0],
    durationNs: 30_000_000,
    warmupNs: 10_000_000,
    ...o,
  });

describe("veth_xmit into the peer's ptr_ring", () => {
  it("drops what does not fit the ring and schedules the peer's NAPI once, on the transmitting CPU", () => {
    const { k, stack } = host(2);
    const veth = new VethRx(k, 4, stack);
    const napi = new Napi(k, 1, "veth", veth, 64);
    veth.napi = napi;
    const cpu = k.cpus[0]!;
    for (let i = 0; i < 6; i++) veth.xmit(0, 1, cpu);
    assert.equal(veth.queued, 4);
    assert.equal(veth.drops, 2);
    assert.equal(veth.ring.length, 4);
    // napi_schedule on the transmitting CPU: one poll-list entry and NET_RX pending there, not elsewhere
    assert.deepEqual(cpu.pollList, [napi]);
    assert.ok(napi.sched && veth.notifyMasked);
    assert.notEqual(cpu.softirqPending, 0);
    assert.equal(k.cpus[1]!.softirqPending, 0);
  });
});

describe("the truesize a socket charges for a veth datagram", () => {
  it("is the sender's kmalloc bucket plus the skb overhead, per fragment", () => {
    const t = (payload: number) => vethTruesize(udpFraming(payload, 1500), 576);
    assert.equal(t(64), 512 - 320 + 576); // 64 + 28 + 31 + 320 shared info -> kmalloc-512
    assert.equal(t(512), 1024 - 320 + 576);
    assert.equal(t(1400), 2048 - 320 + 576);
    assert.equal(t(4000), 3 * t(1400)); // three fragments, each a full-MTU skb
    assert.ok(t(64) < 576 + 2048, "smaller than a NIC's half-page rx buffer");
  });
});

describe("enqueue_to_backlog", () => {
  it("accepts while the queue holds at most netdev_max_backlog, and claims the backlog NAPI once", () => {
    const { k, flows, stack } = host(2, { netdevMaxBacklog: 10 });
    const bl = new Backlog(k, k.cpus[1]!, stack);
    const first = bl.enqueue(flows[0]!, 1, 0);
    assert.deepEqual(first, { accepted: 1, kick: true });
    const rest = bl.enqueue(flows[0]!, 20, 0);
    assert.equal(rest.kick, false);
    assert.equal(1 + rest.accepted, 11); // qlen 0..10 accepted: the check is qlen <= max
    assert.equal(bl.dropped, 10);
  });

  it("with the flow limit on, a flow holding over half the history is dropped once the queue is half full", () => {
    const { k, flows, stack } = host(2, { netdevMaxBacklog: 1000, flowLimit: 1 });
    const bl = new Backlog(k, k.cpus[1]!, stack);
    const r = bl.enqueue(flows[0]!, 1000, 0);
    // 500 below half, then 64 more (the bucket count may reach FLOW_LIMIT_HISTORY / 2, not exceed it)
    assert.equal(r.accepted, 564);
    assert.equal(bl.flowLimitDrops, 436);
    const off = host(2, { netdevMaxBacklog: 1000, flowLimit: 0 });
    const bl2 = new Backlog(off.k, off.k.cpus[1]!, off.stack);
    assert.equal(bl2.enqueue(off.flows[0]!, 1000, 0).accepted, 1000);
  });
});

describe("the bench mirror (sim bench)", () => {
  it("softirq mode: veth NAPI and RPS on the sender's CPU, IPIs and the stack on the receivers' CPU", () => {
    const c = cell({ mode: "softirq" });
    const tx = c.perCpu[0]!;
    const rx = c.perCpu[1]!;
    assert.ok(tx.softirqPct > 5, `tx softirq ${tx.softirqPct}`);
    assert.ok(rx.irqPct > 0, "IPIs land on the rx CPU");
    assert.ok(c.rpsReceived > 0);
    assert.equal(tx.receiversPct, 0);
    assert.equal(rx.senderPct, 0);
    assert.equal(c.napiKthread, null);
    // what was in flight at the window's start may be delivered in it: a little more than offered
    assert.ok(
      c.deliveredPps > 0 && c.deliveredPps <= c.offeredPps * 1.01,
      `${c.deliveredPps} of ${c.offeredPps}`,
    );
  });

  it("threaded mode: the kthread polls on the receivers' CPU; the sender's CPU runs NET_RX only to free skbs", () => {
    const c = cell({ mode: "threaded" });
    assert.ok(c.napiKthread && c.napiKthread.cpuPct > 1);
    assert.ok((c.perCpu[1]?.napiKthreadPct ?? 0) > 1);
    assert.equal(c.rpsReceived, 0);
    // skb_attempt_defer_free: the datagrams read on the rx CPU are freed back on the sender's CPU
    assert.ok((c.perCpu[0]?.softirqPct ?? 0) > 0.5, `tx softirq ${c.perCpu[0]?.softirqPct}`);
    assert.ok((c.perCpu[0]?.irqPct ?? 0) > 0, "the defer kicks are IPIs on the sender's CPU");
    const off = cell({
      mode: "threaded",
      profile: { ...vethHost, figures: { ...vethHost.figures, skbDeferMax: 0 } },
    });
    assert.ok(
      (off.perCpu[0]?.softirqPct ?? 1) < 0.5,
      `tx softirq without deferral ${off.perCpu[0]?.softirqPct}`,
    );
  });

  it("every datagram sent is delivered, dropped at a named place, or still in flight", () => {
    for (const mode of ["softirq", "threaded"] as const)
      for (const flows of [1, 16]) {
        const c = cell({ mode, flows, size: 512 });
        const lost = c.drops.ring + c.drops.backlog + c.drops.socket;
        const inFlight = c.sent - c.received - lost;
        // the ring (256), a backlog (1000) and the socket buffers hold the rest
        assert.ok(inFlight >= -2000 && inFlight <= 256 + 1001 + 100 * flows, `${mode}/${flows}: ${inFlight}`);
      }
  });

  it("is deterministic, and other work on the CPUs slows the sender", () => {
    const a = cell({ mode: "threaded", flows: 16 });
    const b = cell({ mode: "threaded", flows: 16 });
    assert.deepEqual({ ...a, sim: null }, { ...b, sim: null });
    const busy = cell({ mode: "threaded", flows: 16, background: 3 });
    assert.ok(busy.offeredPps < a.offeredPps * 0.5, `${busy.offeredPps} vs ${a.offeredPps}`);
    assert.ok(busy.foreignPct > 100);
  });

  it("paces the sender to --rate", () => {
    const c = cell({ mode: "threaded", ratePps: 50_000 });
    assert.ok(Math.abs(c.offeredPps - 50_000) < 2_500, `${c.offeredPps}`);
    assert.ok(c.deliveredPps > 45_000);
  });

  it("refuses a profile without the host-path figures", () => {
    assert.throws(
      () => cell({ mode: "softirq", profile: loadProfile("default") }),
      /lacks the host-path figures/,
    );
  });
});

describe("sim flood --irq-cpus", () => {
  it("delivers the rx queue's interrupt to the CPU named", () => {
    const base = {
      profile: loadProfile("default"),
      cpus: 2,
      queues: 1,
      mode: "softirq" as const,
      ratePps: 200_000,
    };
    const o = { ...base, size: 64, flows: 1, durationNs: 20_000_000 };
    const moved = runFlood({ ...o, irqCpus: [1] });
    const dflt = runFlood(o);
    assert.equal(moved.cpu[0]?.hardirq, 0);
    assert.ok((moved.cpu[1]?.hardirq ?? 0) > 0);
    assert.equal(dflt.cpu[1]?.hardirq, 0);
    assert.ok((dflt.cpu[0]?.hardirq ?? 0) > 0);
  });
});

describe("sim flood --rps-cpus", () => {
  it("steers the stack to the RPS CPU's backlog with IPIs, and counts backlog drops", () => {
    const o = {
      profile: vethHost,
      cpus: 2,
      queues: 1,
      irqCpus: [0],
      receiverCpus: [0],
      mode: "softirq" as const,
      ratePps: 300_000,
      size: 64,
      flows: 2,
      durationNs: 20_000_000,
    };
    const plain = runFlood(o);
    const rps = runFlood({ ...o, rpsCpus: [1] });
    assert.equal(plain.cpu[1]?.softirq, 0);
    assert.ok((rps.cpu[1]?.softirq ?? 0) > 5, "process_backlog runs on CPU 1");
    assert.ok((rps.cpu[1]?.hardirq ?? 0) > 0, "the IPIs land on CPU 1");
    assert.equal(rps.drops.backlogPps, 0);
    assert.equal(plain.drops.backlogPps, undefined, "no new field without RPS");
    const tight = runFlood({
      ...o,
      rpsCpus: [1],
      ratePps: 3_000_000,
      profile: { ...vethHost, figures: { ...vethHost.figures, netdevMaxBacklog: 8 } },
    });
    assert.ok((tight.drops.backlogPps ?? 0) > 0, "a full backlog drops");
  });
});
