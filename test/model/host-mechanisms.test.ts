import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyGroupShares, MIN_SHARES } from "../../src/model/kernel/autogroup.js";
import { EventQueue } from "../../src/model/kernel/events.js";
import { Kernel } from "../../src/model/kernel/kernel.js";
import { hogBody } from "../../src/model/kernel/receivers.js";
import { SkbDeferList } from "../../src/model/kernel/skbfree.js";
import { loadProfile, type Profile } from "../../src/model/profile.js";
import { runBenchCell, type SimCell } from "../../src/model/scenarios/bench-host.js";

/**
 * The mechanisms napilab calibrate needed to predict this host (docs/model.md, "The bench's own
 * path"): autogroup shares, deferred skb freeing, the IPI's delivery latency, the AF_PACKET
 * sender's cut calls, and the replay of measured other work.
 */
const prior: Profile = loadProfile("veth-host-prior");
const withFigures = (f: Partial<Profile["figures"]>): Profile => ({
  ...prior,
  figures: { ...prior.figures, ...f },
});

const cell = (o: Partial<Parameters<typeof runBenchCell>[0]> & { mode: SimCell["mode"] }): SimCell =>
  runBenchCell({
    profile: prior,
    size: 64,
    flows: 1,
    rxCpus: [1],
    txCpus: [0],
    durationNs: 40_000_000,
    warmupNs: 10_000_000,
    ...o,
  });

function kernel(cpus: number, f: Partial<Profile["figures"]> = {}) {
  const q = new EventQueue();
  const k = new Kernel(q, {
    name: "t",
    cpus,
    figures: { ...prior.figures, ...f },
    policy: "6.5",
    fairClass: "eevdf",
  });
  return { q, k };
}

describe("autogroup: calc_group_shares folded into task weights", () => {
  it("a group's 1024 shares are spread over CPUs by its tasks there, then over its tasks", () => {
    const { k } = kernel(2);
    const mk = (cpu: number) => {
      const t = k.createTask(`t${cpu}`, "receiver", { policy: "other", nice: 0 }, [cpu], {
        body: () => hogBody(),
        preemptible: true,
      });
      t.cpu = cpu;
      return t;
    };
    const sender = mk(0);
    const one = [mk(1)];
    applyGroupShares([sender, ...one]);
    assert.equal(sender.weight, 512);
    assert.equal(one[0]?.weight, 512);
    const sixteen = Array.from({ length: 16 }, () => mk(1));
    applyGroupShares([sender, ...sixteen]);
    // CPU 1 holds 16 of the group's 17 tasks: 1024 * 16/17 for the group there, 1/16 of it each
    assert.equal(sixteen[0]?.weight, Math.round((1024 * 16) / 17 / 16));
    assert.equal(sender.weight, Math.round(1024 / 17));
    const many = Array.from({ length: 2000 }, () => mk(1));
    applyGroupShares([sender, ...many]);
    assert.equal(sender.weight, MIN_SHARES);
  });

  it("threaded mode: the NAPI kthread gets 2/3 of the rx CPU against one receiver, about half against 16", () => {
    // measured on this host (bench-quiet-1): kthread 66% / receiver 32% with 1 flow, 51% / 49% with 16
    const one = cell({ mode: "threaded" });
    const kt1 = one.perCpu[1]?.napiKthreadPct ?? 0;
    const rx1 = one.perCpu[1]?.receiversPct ?? 0;
    assert.ok(kt1 > 1.7 * rx1 && kt1 < 2.3 * rx1, `kthread ${kt1}% receiver ${rx1}%`);
    const many = cell({ mode: "threaded", flows: 16 });
    const kt16 = many.perCpu[1]?.napiKthreadPct ?? 0;
    const rx16 = many.perCpu[1]?.receiversPct ?? 0;
    assert.ok(kt16 < 1.6 * rx16 && rx16 < 1.3 * kt16, `kthread ${kt16}% receivers ${rx16}%`);
    // without autogroup every task weighs 1024: 16 receivers take most of the CPU
    const flat = cell({ mode: "threaded", flows: 16, profile: withFigures({ autogroup: 0 }) });
    assert.ok((flat.perCpu[1]?.receiversPct ?? 0) > 2 * (flat.perCpu[1]?.napiKthreadPct ?? 0));
  });
});

describe("skb_attempt_defer_free: skbs go back to the CPU that allocated them", () => {
  it("kicks the owner once at half of skb_defer_max, frees past the limit itself, and a flush resets", () => {
    const { q, k } = kernel(2, { skbDeferMax: 64, ipiSendNs: 1000, ipiLatencyNs: 0 });
    const list = new SkbDeferList(k, k.cpus[0]!);
    const reader = k.cpus[1]!;
    assert.equal(list.defer(10, k.cpus[0]!), 0, "an skb read on its own CPU is not deferred");
    assert.equal(list.pending, 0);
    assert.equal(list.defer(32, reader), 0);
    assert.equal(list.kicks, 0);
    assert.equal(list.defer(1, reader), 1000, "the 33rd kicks, and the reader pays the IPI's send");
    assert.equal(list.kicks, 1);
    list.defer(40, reader);
    assert.equal(list.kicks, 1, "one IPI while one is pending");
    assert.equal(list.pending, 63);
    assert.equal(list.freedByReader, 10);
    assert.equal(list.flush(), 63 * (k.f.skbFreeNs ?? 0));
    assert.equal(list.count, 0);
    assert.equal(list.pending, 0);
    q.runUntil(1_000_000);
    assert.equal(list.freed, 63);
  });
});

describe("the RPS IPI's delivery latency (ipiLatencyNs)", () => {
  it("a late IPI lets the backlog fill, so one kick serves many skbs (as the bench's received_rps shows)", () => {
    const prompt = cell({ mode: "softirq", profile: withFigures({ ipiLatencyNs: 0 }) });
    const late = cell({ mode: "softirq", profile: withFigures({ ipiLatencyNs: 20_000 }) });
    const perDatagram = (c: SimCell) => c.rpsReceived / c.sent;
    assert.ok(perDatagram(prompt) > 0.5, `prompt: ${perDatagram(prompt)} kicks per datagram`);
    assert.ok(perDatagram(late) < 0.1, `late: ${perDatagram(late)} kicks per datagram`);
    // fewer IPIs to send: the sender, which runs the steering NET_RX, offers more
    assert.ok(late.offeredPps > prompt.offeredPps);
  });
});

describe("the AF_PACKET sender", () => {
  it("a frame veth drops ends the sendmmsg call (packet_snd's -ENOBUFS); a UDP socket swallows it", () => {
    // a slow NAPI kthread, so that the ring overflows often
    const slow = withFigures({ vethRxNs: 1500 });
    const packet = cell({ mode: "threaded", generator: "packet", profile: slow });
    const udp = cell({ mode: "threaded", generator: "udp", profile: slow });
    assert.ok(packet.drops.ring > 0 && udp.drops.ring > 0, "the ring overflows in both");
    // each drop costs the packet sender one more call: it offers less on the same CPU
    assert.ok(packet.offeredPps < udp.offeredPps, `${packet.offeredPps} vs ${udp.offeredPps}`);
  });
});

describe("other work measured on the host (otherWork)", () => {
  it("is replayed per CPU at the measured share, and the bench's tasks get the rest", () => {
    const quiet = cell({ mode: "threaded" });
    const busy = cell({ mode: "threaded", otherWork: [30, 20] });
    assert.ok(Math.abs(busy.foreignPct - 50) < 4, `other work ${busy.foreignPct}%`);
    assert.ok(busy.sender.cpuPct < quiet.sender.cpuPct - 20);
    assert.ok(busy.offeredPps < quiet.offeredPps);
    assert.throws(() => cell({ mode: "threaded", otherWork: [120] }), /0 to 100%/);
  });
});
