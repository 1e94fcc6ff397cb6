/**
 * The seed's experiment (../shared/seed/threaded-napi.md): a remote super_netperf UDP_STREAM flood
 * over a 10 Gb/s wire into a hypervisor's multi-queue NIC ('sdfn' RSS), host NAPI forwarding into a
 * tun device, a vhost-net worker copying into a single-vCPU guest's virtio-net ring, the guest's
 * NAPI, UDP sockets and one netserver per flow. Three configurations: vanilla (softirq
 * everywhere), guest threaded, both threaded. One cell = one payload size x flow count x config.
 */
import { InputError } from "../../core/errors.js";
import { type BuiltHypervisor, type BuiltNic, buildHost } from "../host/build.js";
import type { HostSpec } from "../host/spec.js";
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

/**
 * The seed's host as data: the hypervisor (hostCpus CPUs, a NIC with hostRxQueues queues, IRQ i
 * on CPU i) forwarding into a tun, vhost-net and one vCPU; the guest (one virtual CPU) with its
 * virtio-net NAPI and one netserver per flow. The config sets the host's and the guest's NAPI mode.
 */
export function seedHostSpec(o: SeedCellOptions): HostSpec {
  const p = o.profile;
  const hv = requireHvFigures(p);
  const kernel = (name: string, cpus: number) => ({
    name,
    cpus,
    softirqPolicy: p.softirqPolicy,
    fairClass: p.fairClass,
  });
  const nq = Math.max(1, Math.round(hv.hostRxQueues));
  return {
    profile: p,
    seed: o.seed ?? 1,
    kernels: [kernel("host", hv.hostCpus), { ...kernel("guest", 1), virtual: true }],
    flows: {
      count: o.flows,
      payloadBytes: o.size,
      ratePps: senderRateDps(p, o.size, o.flows),
      // 'sdfn': source and destination address plus both L4 ports
      src: { ip: "198.18.0.1", port: 30000, portStep: 1 },
      dst: { ip: "198.18.1.2", port: 12865, portStep: 1 },
      device: "eth0",
      kernel: "guest",
    },
    nics: [
      {
        kernel: "host",
        dev: "eth0",
        queues: Array.from({ length: nq }, (_, i) => ({ irqCpu: i % hv.hostCpus })),
        napi: { mode: o.config === "bothThreaded" ? "threaded" : "softirq" },
        deliver: "tun",
      },
    ],
    hypervisor: {
      host: "host",
      guest: "guest",
      tunQueueLen: hv.tunQueueLen,
      virtioRingSize: hv.virtioRingSize,
      dev: "virtio0",
      napi: { mode: o.config === "vanilla" ? "softirq" : "threaded" },
      vhostCpu: 1 % hv.hostCpus,
      vcpuCpu: 2 % hv.hostCpus,
    },
    receivers: { name: "netserver", cpus: null, recv: { kind: "netserver" } },
  };
}

/** Run one cell of the seed's table. Deterministic for identical options. */
export function runSeedCell(o: SeedCellOptions): SeedCellResult {
  validateSeedCell(o);
  const h = buildHost(seedHostSpec(o));
  const { q, flows, framing } = h;
  const host = h.kernel("host");
  const guest = h.kernel("guest");
  const queues = (h.nics[0] as BuiltNic).queues;
  const tun = (h.hypervisor as BuiltHypervisor).tun;
  const offered = h.spec.flows.ratePps;
  h.start();

  const warmup = o.warmupNs ?? 20e6;
  const duration = o.durationNs ?? 50e6;
  q.runUntil(warmup);
  h.resetStats();
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
