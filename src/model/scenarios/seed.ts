/**
 * The seed's experiment (../shared/seed/threaded-napi.md): a remote super_netperf UDP_STREAM flood
 * over a 10 Gb/s wire into a hypervisor's multi-queue NIC ('sdfn' RSS), host NAPI forwarding into a
 * tun device, a vhost-net worker copying into a single-vCPU guest's virtio-net ring, the guest's
 * NAPI, UDP sockets and one netserver per flow. Three configurations: vanilla (softirq
 * everywhere), guest threaded, both threaded. One cell = one payload size x flow count x config.
 */
import { InputError } from "../../core/errors.js";
import type { NapiMode } from "../../core/vocabulary.js";
import { EventQueue } from "../kernel/events.js";
import {
  attachVcpu,
  ForwardToTun,
  TunQueue,
  VirtioRxQueue,
  vcpuBody,
  vhostBody,
} from "../kernel/hypervisor.js";
import { Kernel } from "../kernel/kernel.js";
import { Napi, napiSetMode, napiThreadBody } from "../kernel/napi.js";
import { RxQueue } from "../kernel/nic.js";
import { netserverBody } from "../kernel/receivers.js";
import { hashInts, Rng } from "../kernel/rng.js";
import { type Flow, LocalStack, UdpSocket } from "../kernel/socket.js";
import type { Task } from "../kernel/task.js";
import { lineRateDps, udpFraming } from "../kernel/wire.js";
import { type Profile, requireHvFigures } from "../profile.js";

export const SEED_CONFIGS = ["vanilla", "guestThreaded", "bothThreaded"] as const;
export type SeedConfig = (typeof SEED_CONFIGS)[number];

export interface SeedCellOptions {
  profile: Profile;
  size: number;
  flows: number;
  config: SeedConfig;
  durationNs?: number;
  warmupNs?: number;
  seed?: number;
}

export interface SeedCellResult {
  size: number;
  flows: number;
  config: SeedConfig;
  /** Datagrams per second delivered to the guest's netservers, in thousands. */
  kpps: number;
  offeredKpps: number;
  drops: { hostRingKpps: number; tunKpps: number; guestSocketKpps: number };
  /** Host CPU split and the guest vCPU's split, percent. */
  hostCpu: { cpu: number; softirq: number; napiThreads: number; vhost: number; vcpu: number; idle: number }[];
  /** notRunning: the vCPU thread was not on a host CPU (halted when idle, or waiting for a CPU). */
  guestCpu: { softirq: number; napiThread: number; receivers: number; hardirq: number; notRunning: number };
  events: number;
}

/** What the remote sender offers: N netperf flows, each CPU bound, all on one 10G wire. */
export function senderRateDps(p: Profile, size: number, flows: number): number {
  const hv = requireHvFigures(p);
  const framing = udpFraming(size, p.figures.mtu);
  const perFlow = 1 / (1 / hv.senderPerFlowPps + size * hv.senderPerBytePs * 1e-12);
  const senders = Math.min(flows, hv.senderCpus);
  return Math.min(senders * perFlow, lineRateDps(framing, p.figures.wireBitsPerSecond));
}

export function validateSeedCell(o: SeedCellOptions): void {
  requireHvFigures(o.profile);
  if (!Number.isInteger(o.size) || o.size < 1 || o.size > 65_507)
    throw new InputError(`invalid payload size ${o.size}: must be 1 to 65507`);
  if (!Number.isInteger(o.flows) || o.flows < 1 || o.flows > 10_000)
    throw new InputError(`invalid flow count ${o.flows}: must be 1 to 10000`);
}

/** Run one cell of the seed's table. Deterministic for identical options. */
export function runSeedCell(o: SeedCellOptions): SeedCellResult {
  validateSeedCell(o);
  const p = o.profile;
  const f = p.figures;
  const hv = requireHvFigures(p);
  const q = new EventQueue();
  const rng = new Rng(o.seed ?? 1);
  const policy = p.softirqPolicy;
  const host = new Kernel(q, { name: "host", cpus: hv.hostCpus, figures: f, policy, fairClass: p.fairClass });
  const guest = new Kernel(q, {
    name: "guest",
    cpus: 1,
    figures: f,
    policy,
    fairClass: p.fairClass,
    virtual: true,
  });

  const framing = udpFraming(o.size, f.mtu);
  const offered = senderRateDps(p, o.size, o.flows);
  const flows: Flow[] = [];
  const guestStack = new LocalStack(guest, flows);
  const truesize = framing.frags * (f.skbOverheadBytes + f.rxBufferBytes);
  const key = rng.nextU32();
  for (let i = 0; i < o.flows; i++) {
    // 'sdfn': source and destination address plus both L4 ports
    const hash = hashInts(key, [0xc6120001, 0xc6120102, 30000 + i, 12865 + i]);
    const sock = new UdpSocket(i, f.rcvbufBytes, truesize);
    flows.push({ id: i, framing, rateDps: offered / o.flows, hash, socket: sock, residue: 0 });
  }

  // host: NIC queues -> forward -> tun
  const tun = new TunQueue(hv.tunQueueLen);
  const sink = new ForwardToTun(host, tun);
  const nq = Math.max(1, Math.round(hv.hostRxQueues));
  const queues: RxQueue[] = [];
  const hostNapis: Napi[] = [];
  for (let i = 0; i < nq; i++) {
    const rxq = new RxQueue(host, i, f.ringSize, i % hv.hostCpus, sink);
    const napi = new Napi(host, i + 1, `eth0-rx-${i}`, rxq, f.napiWeight);
    rxq.napi = napi;
    queues.push(rxq);
    hostNapis.push(napi);
  }
  for (const fl of flows) (queues[fl.hash % nq] as RxQueue).addSource(fl, rng.next());

  // guest: virtio-net rx queue and its NAPI
  const vq = new VirtioRxQueue(guest, host, guestStack, flows, hv.virtioRingSize);
  const guestNapi = new Napi(guest, 1, "virtio0-rx-0", vq, f.napiWeight);
  vq.napi = guestNapi;

  const threadFor =
    (k: Kernel, dev: string) =>
    (n: Napi): Task =>
      k.createTask(`napi/${dev}-${n.id}`, "napi", { policy: "other", nice: 0 }, null, {
        body: (t) => napiThreadBody(k, n, t),
        preemptible: false,
      });
  const hostMode: NapiMode = o.config === "bothThreaded" ? "threaded" : "softirq";
  const guestMode: NapiMode = o.config === "vanilla" ? "softirq" : "threaded";
  for (const n of hostNapis) napiSetMode(n, hostMode, threadFor(host, "eth0"));
  napiSetMode(guestNapi, guestMode, threadFor(guest, "virtio0"));

  // host threads: vhost worker and the vCPU (both unpinned fair tasks, as QEMU starts them)
  const vhost = host.createTask("vhost-net", "vhost", { policy: "other", nice: 0 }, null, {
    body: (t) => vhostBody(host, t, tun, vq, flows),
    preemptible: false,
  });
  vhost.cpu = 1 % hv.hostCpus;
  const guestCpu = guest.cpus[0];
  if (!guestCpu) throw new Error("guest has no CPU");
  const vcpu = host.createTask("vcpu0", "vcpu", { policy: "other", nice: 0 }, null, {
    body: () => vcpuBody(host, guestCpu),
    preemptible: true,
  });
  vcpu.cpu = 2 % hv.hostCpus;
  attachVcpu(host, vcpu, guestCpu);

  // guest: one netserver per flow
  const receivers: Task[] = flows.map((fl, i) =>
    guest.createTask(`netserver-${i}`, "receiver", { policy: "other", nice: 0 }, null, {
      body: (t) => netserverBody(guest, t, fl.socket as UdpSocket, guestStack, o.size),
      preemptible: true,
    }),
  );

  host.start();
  guest.start();
  for (const t of receivers) guest.wake(t);
  host.wake(vhost); // it runs once, finds the tun ring empty and waits on it
  host.wake(vcpu); // boots the guest, which starts its netservers and halts
  for (const rxq of queues) rxq.armIrq();

  const warmup = o.warmupNs ?? 20e6;
  const duration = o.durationNs ?? 50e6;
  q.runUntil(warmup);
  host.resetStats();
  guest.resetStats();
  for (const rxq of queues) rxq.resetStats();
  const tunBase = tun.drops;
  const base = flows.map((fl) => ({ d: fl.socket?.delivered ?? 0, x: fl.socket?.drops ?? 0 }));
  const e0 = q.processed;
  q.runUntil(warmup + duration);
  for (const c of [...host.cpus, ...guest.cpus]) c.flush();

  const secs = duration / 1e9;
  let delivered = 0;
  let sockDrops = 0;
  flows.forEach((fl, i) => {
    delivered += (fl.socket?.delivered ?? 0) - (base[i]?.d ?? 0);
    sockDrops += (fl.socket?.drops ?? 0) - (base[i]?.x ?? 0);
  });
  const pct = (ns: number) => Math.round((1000 * ns) / duration) / 10;
  const g = guest.cpus[0];
  return {
    size: o.size,
    flows: o.flows,
    config: o.config,
    kpps: Math.round(delivered / secs / 100) / 10,
    offeredKpps: Math.round(offered / 100) / 10,
    drops: {
      hostRingKpps: Math.round(queues.reduce((s, r) => s + r.ringDrops, 0) / secs / 100) / 10,
      tunKpps: Math.round(((tun.drops - tunBase) / secs / 100) * (1 / framing.frags)) / 10,
      guestSocketKpps: Math.round(sockDrops / secs / 100) / 10,
    },
    hostCpu: host.cpus.map((c) => ({
      cpu: c.id,
      softirq: pct(c.softirqNs + c.timeOfKind("ksoftirqd") + c.hardirqNs),
      napiThreads: pct(c.timeOfKind("napi")),
      vhost: pct(c.timeOfKind("vhost")),
      vcpu: pct(c.timeOfKind("vcpu")),
      idle: pct(c.idleNs),
    })),
    guestCpu: {
      hardirq: g ? pct(g.hardirqNs) : 0,
      softirq: g ? pct(g.softirqNs + g.timeOfKind("ksoftirqd")) : 0,
      napiThread: g ? pct(g.timeOfKind("napi")) : 0,
      receivers: g ? pct(g.timeOfKind("receiver")) : 0,
      notRunning: g ? pct(g.pausedNs) : 0,
    },
    events: q.processed - e0,
  };
}
