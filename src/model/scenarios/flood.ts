/**
 * The `sim flood` experiment: one host with N CPUs, a NIC with one rx queue per CPU (IRQ i on
 * CPU i), F UDP flows of constant rate hashed to the queues, one netserver-like receiver per flow,
 * and optional CPU hogs. Runs a warm-up, then measures: offered and delivered rates, drops by place,
 * the CPU time split, softnet counters, per-socket and per-task figures and latency.
 */
import { InputError } from "../../core/errors.js";
import { checkCpusWithin } from "../../core/units.js";
import { type NapiMode, type SchedPolicy, validateSchedPolicy } from "../../core/vocabulary.js";
import { type BuiltNic, buildHost } from "../host/build.js";
import type { HostSpec } from "../host/spec.js";
import { BUSY_POLL_BUDGET, RECEIVER_KINDS, type ReceiverKind } from "../kernel/busypoll.js";
import type { EventQueue } from "../kernel/events.js";
import type { FairClass } from "../kernel/sched.js";
import type { UdpSocket } from "../kernel/socket.js";
import type { TaskKind } from "../kernel/task.js";
import { lineRateDps, udpFraming } from "../kernel/wire.js";
import { type Profile, requireHostPathFigures, type SoftirqPolicy } from "../profile.js";

export interface FloodOptions {
  profile: Profile;
  cpus: number;
  mode: NapiMode;
  /** Offered UDP datagrams per second, all flows together (capped at line rate). */
  ratePps: number;
  /** UDP payload bytes. */
  size: number;
  flows: number;
  durationNs: number;
  warmupNs?: number;
  seed?: number;
  softirqPolicy?: SoftirqPolicy;
  fairClass?: FairClass;
  /** CPUs the receivers may run on (null: all). */
  receiverCpus?: number[] | null;
  /** CPUs the NAPI kthreads may run on (null: all, the kernel's default). */
  napiCpus?: number[] | null;
  napiPolicy?: SchedPolicy;
  receiverPolicy?: SchedPolicy;
  /** rx queues (default: one per CPU); queue i's IRQ goes to CPU i mod cpus. */
  queues?: number;
  /**
   * The rx queues' IRQ affinity (/proc/irq/N/smp_affinity_list): queue i's interrupt is delivered
   * to irqCpus[i mod length]. Default: queue i on CPU i mod cpus.
   */
  irqCpus?: number[] | null;
  /**
   * rps_cpus of every rx queue: after GRO, get_rps_cpu steers each packet to one of these CPUs'
   * backlogs (rps.ts); needs a profile with the host-path figures (e.g. veth-host). Default: no RPS.
   */
  rpsCpus?: number[] | null;
  hogs?: number;
  hogCpus?: number[] | null;
  /** Receivers busy poll their socket's NAPI for this long before sleeping (SO_BUSY_POLL); 0 = off. */
  busyReadNs?: number;
  /** Called every 1% of simulated time (warm-up included) with the share done, 0..1: for a progress bar. */
  onProgress?: (share: number) => void;
  // ---- the modes family (opt-in; absent, the flood runs exactly as before) ----
  /** Forced irq threading (threadirqs): the rx IRQs' handlers run in irq/N-eth0-rx-i threads. */
  threadirqs?: boolean;
  /** Policy of the irq threads (default SCHED_FIFO 50). */
  irqThreadPolicy?: SchedPolicy;
  /** How the receivers wait: blocking recv(), non-blocking recv() spinning on EAGAIN, or epoll. */
  receiver?: ReceiverKind;
  /** SO_PREFER_BUSY_POLL (or epoll prefer_busy_poll). */
  preferBusyPoll?: boolean;
  /** SO_BUSY_POLL_BUDGET (default BUSY_POLL_BUDGET, 8). */
  busyPollBudget?: number;
  /** napi_defer_hard_irqs of every NAPI. */
  deferHardIrqs?: number;
  /** gro_flush_timeout of every NAPI, ns. */
  groFlushTimeoutNs?: number;
  /** irq_suspend_timeout of every NAPI, ns. */
  irqSuspendTimeoutNs?: number;
}

/** Whether a configuration uses any option of the modes family (then the result has its extras). */
export function usesModeOptions(o: FloodOptions): boolean {
  return (
    o.threadirqs !== undefined ||
    o.receiver !== undefined ||
    o.preferBusyPoll !== undefined ||
    o.busyPollBudget !== undefined ||
    o.deferHardIrqs !== undefined ||
    o.groFlushTimeoutNs !== undefined ||
    o.irqSuspendTimeoutNs !== undefined ||
    o.irqThreadPolicy !== undefined
  );
}

export interface CpuSplit {
  cpu: number;
  hardirq: number;
  softirq: number;
  ksoftirqd: number;
  napiThreads: number;
  receivers: number;
  hogs: number;
  idle: number;
  /** irq/N threads (threadirqs only; their NET_RX at BH enable counts as softirq). */
  irqThreads?: number;
}

export interface FloodResult {
  config: {
    cpus: number;
    mode: NapiMode;
    ratePps: number;
    size: number;
    flows: number;
    durationNs: number;
    softirqPolicy: SoftirqPolicy;
    profile: string;
    seed: number;
    receiverCpus: number[] | null;
    /** Present when an option of the modes family is used. */
    modes?: ModesConfig;
  };
  offeredPps: number;
  deliveredPps: number;
  /** Datagrams lost, by place, per second of measurement. */
  /** backlogPps: enqueue_to_backlog drops, present with RPS only. */
  drops: { ringPps: number; rcvbufPps: number; totalPps: number; backlogPps?: number };
  /** Per-CPU time split, percent of the measured interval. */
  cpu: CpuSplit[];
  softnet: {
    cpu: number;
    processed: number;
    timeSqueeze: number;
    squeezeBudget: number;
    squeezeTime: number;
  }[];
  sockets: { flow: number; deliveredPps: number; dropsPps: number }[];
  tasks: { name: string; cpu: number; runPct: number; waitMs: number; slices: number; wakeups: number }[];
  napis: { name: string; mode: NapiMode; polls: number; packets: number; irqs: number }[];
  latency: {
    p50Us: number;
    p99Us: number;
    samples: number;
    /** Wire-to-recv() latency at LATENCY_QUANTILES, for plotting the distribution. */
    quantiles: { q: number; us: number }[];
    p999Us?: number;
  };
  /** Present when an option of the modes family is used. */
  modes?: {
    irqThreads: { name: string; cpu: number; runs: number; runPct: number }[];
    napiTimers: { name: string; timerFires: number; deferredCompletions: number; preferExits: number }[];
  };
  sim: { events: number; simulatedNs: number; datagrams: number; wallMs: number };
}

export interface ModesConfig {
  threadirqs: boolean;
  receiver: ReceiverKind;
  busyReadNs: number;
  preferBusyPoll: boolean;
  busyPollBudget: number;
  deferHardIrqs: number;
  groFlushTimeoutNs: number;
  irqSuspendTimeoutNs: number;
}

function modesConfig(o: FloodOptions): ModesConfig {
  return {
    threadirqs: o.threadirqs ?? false,
    receiver: o.receiver ?? "blocking",
    busyReadNs: o.busyReadNs ?? 0,
    preferBusyPoll: o.preferBusyPoll ?? false,
    busyPollBudget: o.busyPollBudget ?? BUSY_POLL_BUDGET,
    deferHardIrqs: o.deferHardIrqs ?? 0,
    groFlushTimeoutNs: o.groFlushTimeoutNs ?? 0,
    irqSuspendTimeoutNs: o.irqSuspendTimeoutNs ?? 0,
  };
}

/** Check a flood configuration before anything runs; throws InputError with a one-line message. */
export function validateFlood(o: FloodOptions): void {
  const int = (v: number, what: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new InputError(`${what} must be ${min} to ${max}, got ${v}`);
  };
  int(o.cpus, "--cpus", 1, 256);
  int(o.flows, "--flows", 1, 100_000);
  int(o.size, "--size", 1, 65_507);
  if (!Number.isFinite(o.ratePps) || o.ratePps <= 0)
    throw new InputError(`--rate must be positive, got ${o.ratePps}`);
  if (o.ratePps > 1e9) throw new InputError(`--rate ${o.ratePps} is beyond any NIC (max 1G datagrams/s)`);
  if (!Number.isInteger(o.durationNs) || o.durationNs <= 0)
    throw new InputError("--duration must be positive");
  if (o.durationNs > 600e9) throw new InputError("--duration must be at most 600s");
  if (o.queues !== undefined) int(o.queues, "--queues", 1, 1024);
  if (o.hogs !== undefined) int(o.hogs, "--hogs", 0, 1024);
  if (o.receiverCpus) checkCpusWithin(o.receiverCpus, o.cpus, "--receiver-cpus");
  if (o.napiCpus) checkCpusWithin(o.napiCpus, o.cpus, "--napi-cpus");
  if (o.hogCpus) checkCpusWithin(o.hogCpus, o.cpus, "--hog-cpus");
  if (o.rpsCpus) {
    if (o.rpsCpus.length === 0) throw new InputError("--rps-cpus: at least one CPU");
    checkCpusWithin(o.rpsCpus, o.cpus, "--rps-cpus");
    requireHostPathFigures(o.profile);
  }
  if (o.irqCpus) {
    if (o.irqCpus.length === 0) throw new InputError("--irq-cpus: at least one CPU");
    checkCpusWithin(o.irqCpus, o.cpus, "--irq-cpus");
  }
  if (o.napiPolicy) validateSchedPolicy(o.napiPolicy);
  if (o.receiverPolicy) validateSchedPolicy(o.receiverPolicy);
  if (o.busyReadNs !== undefined && (o.busyReadNs < 0 || o.busyReadNs > 1e9))
    throw new InputError("--busy-read must be 0 to 1s");
  if (o.receiver !== undefined && !(RECEIVER_KINDS as readonly string[]).includes(o.receiver))
    throw new InputError(`--receiver must be one of ${RECEIVER_KINDS.join(", ")}, got ${o.receiver}`);
  if (o.busyPollBudget !== undefined) int(o.busyPollBudget, "--busy-poll-budget", 1, 65_535);
  if (o.deferHardIrqs !== undefined) int(o.deferHardIrqs, "--defer-hard-irqs", 0, 2 ** 31 - 1);
  const timeout = (v: number | undefined, what: string) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 2 ** 32 - 1))
      throw new InputError(`${what} must be 0 to 4.29s (a u32 of ns), got ${v}`);
  };
  timeout(o.groFlushTimeoutNs, "--gro-flush-timeout");
  timeout(o.irqSuspendTimeoutNs, "--irq-suspend-timeout");
  if (o.irqThreadPolicy) validateSchedPolicy(o.irqThreadPolicy);
  if (o.irqSuspendTimeoutNs && o.receiver !== "epoll")
    throw new InputError(
      "--irq-suspend-timeout acts through epoll busy polling: use it with --receiver epoll",
    );
  if (o.irqSuspendTimeoutNs && !o.preferBusyPoll)
    throw new InputError("--irq-suspend-timeout needs --prefer-busy-poll (napi_suspend_irqs runs only then)");
}

/**
 * q.runUntil, run in 1% slices of the whole simulated time when someone watches the progress.
 * Slicing changes nothing: events run in the same order either way.
 */
function progressive(q: EventQueue, totalNs: number, onProgress?: (share: number) => void) {
  if (!onProgress) return (end: number) => q.runUntil(end);
  const slice = Math.max(1, Math.ceil(totalNs / 100));
  return (end: number) => {
    while (q.now < end) {
      q.runUntil(Math.min(end, q.now + slice));
      onProgress(Math.min(1, q.now / totalNs));
    }
  };
}

/**
 * The flood's host as data: one NIC eth0 with a queue per CPU (or --queues, IRQ i on CPU i or
 * --irq-cpus), F flows from the wire hashed to the queues, one netserver per flow, the hogs.
 */
export function floodHostSpec(o: FloodOptions): HostSpec {
  const f = o.profile.figures;
  const cpus = o.cpus;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const modes = usesModeOptions(o) ? modesConfig(o) : null;
  const busy = o.busyReadNs ?? 0;
  const nq = o.queues ?? cpus;
  return {
    profile: o.profile,
    seed: o.seed ?? 1,
    kernels: [
      {
        name: "host",
        cpus,
        softirqPolicy: o.softirqPolicy ?? o.profile.softirqPolicy,
        fairClass: o.fairClass ?? o.profile.fairClass,
      },
    ],
    flows: {
      count: o.flows,
      payloadBytes: o.size,
      ratePps: Math.min(o.ratePps, lineRateDps(udpFraming(o.size, f.mtu), f.wireBitsPerSecond)),
      src: { ip: "198.18.0.1", port: 10000, portStep: 1 },
      dst: { ip: "198.18.0.2", port: 20000, portStep: 1 },
      device: "eth0",
      kernel: "host",
    },
    nics: [
      {
        kernel: "host",
        dev: "eth0",
        queues: range(nq).map((i) => ({
          irqCpu: o.irqCpus ? (o.irqCpus[i % o.irqCpus.length] as number) : i % cpus,
          threadCpu: i % cpus,
        })),
        napi: { mode: o.mode, threadPolicy: o.napiPolicy, threadCpus: o.napiCpus ?? null },
        rpsCpus: o.rpsCpus ?? null,
        ...(modes?.threadirqs ? { threadirqs: { policy: o.irqThreadPolicy } } : {}),
        ...(modes &&
        (modes.preferBusyPoll || modes.deferHardIrqs || modes.groFlushTimeoutNs || modes.irqSuspendTimeoutNs)
          ? {
              knobs: {
                deferHardIrqs: modes.deferHardIrqs,
                groFlushTimeoutNs: modes.groFlushTimeoutNs,
                irqSuspendTimeoutNs: modes.irqSuspendTimeoutNs,
              },
            }
          : {}),
      },
    ],
    receivers: {
      name: "netserver",
      policy: o.receiverPolicy,
      cpus: o.receiverCpus ?? null,
      startCpus: o.receiverCpus ?? range(cpus),
      recv: modes
        ? {
            kind: modes.receiver,
            busyReadNs: modes.busyReadNs,
            preferBusyPoll: modes.preferBusyPoll,
            busyPollBudget: modes.busyPollBudget,
          }
        : busy > 0
          ? { kind: "busy-read", busyReadNs: busy }
          : { kind: "netserver" },
    },
    hogs: range(o.hogs ?? 0).map((i) => ({
      kernel: "host",
      name: `hog-${i}`,
      cpus: o.hogCpus ?? null,
      startCpu: o.hogCpus?.[i % o.hogCpus.length] ?? i % cpus,
    })),
  };
}

/** Build and run one flood simulation. Deterministic for identical options and seed. */
export function runFlood(o: FloodOptions): FloodResult {
  validateFlood(o);
  const wallStart = performance.now();
  const spec = floodHostSpec(o);
  const host = buildHost(spec);
  const { q, flows, stack, backlogs } = host;
  const k = host.kernel("host");
  const { queues, napis, irqThreads } = host.nics[0] as BuiltNic;
  const seed = spec.seed;
  const policy = k.policy;
  const offeredPps = spec.flows.ratePps;
  const rps = o.rpsCpus ?? null;
  const modes = usesModeOptions(o) ? modesConfig(o) : null;
  host.start();

  const warmup = o.warmupNs ?? Math.min(50_000_000, Math.round(o.durationNs / 4));
  const runUntil = progressive(q, warmup + o.durationNs, o.onProgress);
  runUntil(warmup);
  host.resetStats();
  const sockBase = flows.map((fl) => ({ d: fl.socket?.delivered ?? 0, x: fl.socket?.drops ?? 0 }));
  const latency = stack.latency;
  latency.reset();
  const eventsBase = q.processed;
  runUntil(warmup + o.durationNs);
  for (const cpu of k.cpus) cpu.flush();
  for (const rxq of queues) rxq.sync(q.now);

  const secs = o.durationNs / 1e9;
  let delivered = 0;
  let rcvbufDrops = 0;
  const sockets = flows.map((fl, i) => {
    const s = fl.socket as UdpSocket;
    const d = s.delivered - (sockBase[i]?.d ?? 0);
    const x = s.drops - (sockBase[i]?.x ?? 0);
    delivered += d;
    rcvbufDrops += x;
    return { flow: i, deliveredPps: d / secs, dropsPps: x / secs };
  });
  const ringDrops = queues.reduce((s, r) => s + r.ringDrops, 0);
  const backlogDrops = backlogs.reduce((s, b) => s + b.dropped, 0);
  const arrived = queues.reduce((s, r) => s + r.arrived, 0);

  const pct = (ns: number) => round2((100 * ns) / o.durationNs);
  const cpuSplit: CpuSplit[] = k.cpus.map((cpu) => {
    const byKind = (kind: TaskKind) => cpu.timeOfKind(kind);
    return {
      cpu: cpu.id,
      hardirq: pct(cpu.hardirqNs),
      softirq: pct(cpu.softirqNs),
      ksoftirqd: pct(byKind("ksoftirqd")),
      napiThreads: pct(byKind("napi")),
      receivers: pct(byKind("receiver")),
      hogs: pct(byKind("hog")),
      idle: pct(cpu.idleNs),
      ...(modes?.threadirqs ? { irqThreads: pct(byKind("irqthread")) } : {}),
    };
  });

  return {
    config: {
      cpus: o.cpus,
      mode: o.mode,
      ratePps: o.ratePps,
      size: o.size,
      flows: o.flows,
      durationNs: o.durationNs,
      softirqPolicy: policy,
      profile: o.profile.name,
      seed,
      receiverCpus: o.receiverCpus ?? null,
      ...(modes ? { modes } : {}),
    },
    offeredPps: round2(offeredPps),
    deliveredPps: round2(delivered / secs),
    drops: {
      ringPps: round2(ringDrops / secs),
      rcvbufPps: round2(rcvbufDrops / secs),
      totalPps: round2((ringDrops + rcvbufDrops + backlogDrops) / secs),
      ...(rps ? { backlogPps: round2(backlogDrops / secs) } : {}),
    },
    cpu: cpuSplit,
    softnet: k.cpus.map((cpu) => ({
      cpu: cpu.id,
      processed: cpu.softnet.processed,
      timeSqueeze: cpu.softnet.timeSqueeze,
      squeezeBudget: cpu.softnet.squeezeBudget,
      squeezeTime: cpu.softnet.squeezeTime,
    })),
    sockets,
    tasks: k.tasks.map((t) => ({
      name: t.name,
      cpu: t.cpu,
      runPct: pct(t.sumExecNs),
      waitMs: round2(t.waitNs / 1e6),
      slices: t.slices,
      wakeups: t.wakeups,
    })),
    napis: napis.map((n, i) => ({
      name: n.name,
      mode: n.mode,
      polls: n.polls,
      packets: n.packets,
      irqs: (queues[i] as (typeof queues)[number]).irqs,
    })),
    latency: {
      p50Us: round2(latency.quantile(0.5) / 1000),
      p99Us: round2(latency.quantile(0.99) / 1000),
      samples: latency.total,
      quantiles: LATENCY_QUANTILES.map((q) => ({ q, us: round2(latency.quantile(q) / 1000) })),
      ...(modes ? { p999Us: round2(latency.quantile(0.999) / 1000) } : {}),
    },
    ...(modes
      ? {
          modes: {
            irqThreads: irqThreads.map((it) => ({
              name: it.task.name,
              cpu: it.task.cpu,
              runs: it.runs,
              runPct: pct(it.task.sumExecNs),
            })),
            napiTimers: napis.map((n) => ({
              name: n.name,
              timerFires: n.tun?.timerFires ?? 0,
              deferredCompletions: n.tun?.deferredCompletions ?? 0,
              preferExits: n.tun?.preferExits ?? 0,
            })),
          },
        }
      : {}),
    sim: {
      events: q.processed - eventsBase,
      simulatedNs: o.durationNs,
      datagrams: arrived,
      wallMs: round2(performance.now() - wallStart),
    },
  };
}

/** Quantiles reported for the latency distribution (dense in the tail, where modes differ). */
export const LATENCY_QUANTILES = [
  0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1,
] as const;

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
