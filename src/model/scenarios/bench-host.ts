/**
 * The bench mirror: napilab bench's own test bed as a model host, one cell at a time. A sender task
 * (sendmmsg loop) pinned to the tx CPUs puts datagrams through veth_xmit into the receiving veth's
 * ring; the veth's NAPI runs in softirq on the transmitting CPU, with RPS steering the stack to the
 * receivers' CPUs through their backlogs (bench mode softirq), or in its kthread pinned to the
 * receivers' CPUs (threaded) or left to the scheduler (threaded-free); one netserver-style receiver
 * per flow, one recv(2) per datagram, pinned to the receivers' CPUs. Nothing in it is fed a
 * measured rate: the sender floods (or paces to the bench's --rate) and the model finds the rest.
 *
 * A cell reports what a bench cell reports (src/bench/measure.ts), under the same names, so that a
 * bench result and its simulation can be compared field by field.
 */
import { InputError } from "../../core/errors.js";
import { checkCpusWithin } from "../../core/units.js";
import { type BuiltSender, type BuiltVeth, buildHost } from "../host/build.js";
import type { HogSpec, HostSpec } from "../host/spec.js";
import { BUSY_POLL_BUDGET } from "../kernel/busypoll.js";
import type { Task } from "../kernel/task.js";
import { udpFraming } from "../kernel/wire.js";
import { type Profile, requireHostPathFigures } from "../profile.js";

/** The bench's modes (src/bench/modes.ts BENCH_MODES), repeated here: the model does not import bench. */
export const BENCH_HOST_MODES = ["softirq", "threaded", "threaded-free", "busy-poll"] as const;
export type BenchHostMode = (typeof BENCH_HOST_MODES)[number];

export interface BenchHostOptions {
  profile: Profile;
  mode: BenchHostMode;
  /** UDP payload bytes. */
  size: number;
  flows: number;
  rxCpus: number[];
  txCpus: number[];
  /** CPUs of the model host (default: the highest CPU named + 1). */
  cpus?: number;
  /** sendmmsg batch (the bench's --batch, default 64). */
  batch?: number;
  /** The bench's generator (its result's options.sender): AF_PACKET frames (default) or a UDP socket. */
  generator?: "packet" | "udp";
  /** The bench's --rate: datagrams per second to pace the sender to; 0 = flood. */
  ratePps?: number;
  /** rps_cpus of the receiving veth's rx queue (default: the rx CPUs in softirq mode, none otherwise, as the bench sets it). */
  rpsCpus?: number[];
  /** Measured (simulated) window, ns. */
  durationNs: number;
  warmupNs?: number;
  seed?: number;
  /**
   * Other work on the host: this many always-runnable nice-0 tasks on each CPU, competing with the
   * bench's tasks in the fair class (default 0, a quiet host); napilab calibrate --background N
   * uses it instead of replaying the measured other work (otherWork).
   */
  background?: number | number[];
  /**
   * Other work measured on the host while the cell ran (a bench cell's per-CPU OTHER share), in
   * percent of each CPU (index = CPU): replayed by one task per CPU, in a session of its own, that
   * wants that share of every few ms. Default: none.
   */
  otherWork?: number[];
  /**
   * The bench's receiver variant (--receiver, --busy-read, --busy-poll-budget): blocking recv()
   * (netserver's, the default) or non-blocking recv() spinning on EAGAIN, with SO_BUSY_POLL
   * polling the veth's NAPI from the receiver (busypoll.ts). SO_PREFER_BUSY_POLL is not mirrored.
   */
  receiver?: { kind: "blocking" | "nonblocking"; busyReadNs?: number; busyPollBudget?: number };
}

/** Background tasks on CPU `cpu`: one count for every CPU, or one per CPU (missing ones: 0). */
export function backgroundOn(o: Pick<BenchHostOptions, "background">, cpu: number): number {
  const b = o.background ?? 0;
  return typeof b === "number" ? b : (b[cpu] ?? 0);
}

/** One CPU of a cell, as a bench cell's perCpu (the model has no user/system split of task time). */
export interface SimCpuSplit {
  cpu: number;
  busyPct: number;
  softirqPct: number;
  irqPct: number;
  receiversPct: number;
  senderPct: number;
  napiKthreadPct: number;
  ksoftirqdPct: number;
}

export interface SimTaskTime {
  cpus: number[] | null;
  cpuPct: number;
  waitPct: number;
}

/** A simulated bench cell: the fields of a bench Cell (CellMeasure) the model can produce. */
export interface SimCell {
  mode: BenchHostMode;
  size: number;
  flows: number;
  elapsedNs: number;
  sent: number;
  received: number;
  offeredPps: number;
  deliveredPps: number;
  drops: { ring: number; backlog: number; socket: number; reassembly: number };
  timeSqueeze: number;
  rpsReceived: number;
  perCpu: SimCpuSplit[];
  /** Other work on the rx/tx CPUs (the background tasks), percent of one CPU. */
  foreignPct: number;
  receivers: SimTaskTime;
  sender: SimTaskTime;
  napiKthread: (SimTaskTime & { name: string; slices: number }) | null;
  sim: { events: number; wallMs: number; seed: number; profile: string };
}

export function validateBenchHost(o: BenchHostOptions): void {
  if (!(BENCH_HOST_MODES as readonly string[]).includes(o.mode))
    throw new InputError(`invalid mode '${o.mode}': use ${BENCH_HOST_MODES.join(", ")}`);
  if (!Number.isInteger(o.size) || o.size < 1 || o.size > 65_507)
    throw new InputError(`invalid size ${o.size}: a UDP payload is 1 to 65507 bytes`);
  if (!Number.isInteger(o.flows) || o.flows < 1 || o.flows > 10_000)
    throw new InputError(`invalid flow count ${o.flows}: 1 to 10000`);
  if (o.rxCpus.length === 0) throw new InputError("--rx-cpus: at least one CPU");
  if (o.txCpus.length === 0) throw new InputError("--tx-cpus: at least one CPU");
  const cpus = hostCpus(o);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256) throw new InputError("--cpus must be 1 to 256");
  checkCpusWithin(o.rxCpus, cpus, "--rx-cpus");
  checkCpusWithin(o.txCpus, cpus, "--tx-cpus");
  if (o.rpsCpus) checkCpusWithin(o.rpsCpus, cpus, "--rps-cpus");
  const batch = o.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 1 || batch > 1024)
    throw new InputError(`invalid batch ${batch}: 1 to 1024 messages per sendmmsg`);
  const rate = o.ratePps ?? 0;
  if (!Number.isFinite(rate) || rate < 0) throw new InputError("invalid rate: 0 (flood) or more");
  const bgs = typeof o.background === "object" ? o.background : [o.background ?? 0];
  for (const bg of bgs)
    if (!Number.isInteger(bg) || bg < 0 || bg > 64)
      throw new InputError(`--background must be 0 to 64 tasks per CPU, got ${bg}`);
  for (const w of o.otherWork ?? [])
    if (!(w >= 0 && w <= 100)) throw new InputError(`other work must be 0 to 100% of a CPU, got ${w}`);
  if (!Number.isInteger(o.durationNs) || o.durationNs <= 0 || o.durationNs > 60e9)
    throw new InputError("--duration must be positive and at most 60s of simulated time");
  if (o.receiver) {
    if (o.receiver.kind !== "blocking" && o.receiver.kind !== "nonblocking")
      throw new InputError(`--receiver must be blocking or nonblocking, got ${o.receiver.kind}`);
    const b = o.receiver.busyReadNs ?? 0;
    if (!Number.isInteger(b) || b < 0 || b > 1e9) throw new InputError("--busy-read must be 0 to 1s");
    const budget = o.receiver.busyPollBudget ?? BUSY_POLL_BUDGET;
    if (!Number.isInteger(budget) || budget < 1 || budget > 65_535)
      throw new InputError(`--busy-poll-budget must be 1 to 65535, got ${budget}`);
  }
  requireHostPathFigures(o.profile);
}

function hostCpus(o: BenchHostOptions): number {
  return o.cpus ?? Math.max(...o.rxCpus, ...o.txCpus) + 1;
}

/** sizeof(struct skb_shared_info), cache-aligned (x86-64): the tail of every kmalloc'ed skb head. */
const SKB_SHINFO_BYTES = 320;
/** LL_RESERVED_SPACE of an Ethernet device (16) plus the 15 bytes __ip_append_data adds. */
const TX_HEADROOM = 31;

/**
 * The truesize a receiving socket charges per datagram on a veth: veth hands the sender's own skb
 * to the peer (no copy into an rx buffer, as a NIC's half-page would be), so it is what
 * __ip_append_data -> sock_alloc_send_skb -> __alloc_skb allocated: the head rounded up to a kmalloc
 * bucket (kmalloc_size_roundup), counted by SKB_TRUESIZE with the sk_buff and shared-info overhead,
 * one such skb per IP fragment.
 */
export function vethTruesize(framing: { payload: number; frags: number }, skbOverheadBytes: number): number {
  const IP_UDP = 28;
  const perFragData = framing.frags === 1 ? framing.payload + IP_UDP : 1500;
  let bucket = 64;
  while (bucket < perFragData + TX_HEADROOM + SKB_SHINFO_BYTES) bucket *= 2;
  return framing.frags * (bucket - SKB_SHINFO_BYTES + skbOverheadBytes);
}

/**
 * The bench's test bed as data: a veth pair nl-tx -> nl-rx on one host, the sender pinned to the
 * tx CPUs, RPS to the rx CPUs in softirq mode, the veth's NAPI kthread pinned to the rx CPUs
 * (threaded, busy-poll) or free, one receiver per flow on the rx CPUs, and the background tasks.
 */
export function benchHostSpec(o: BenchHostOptions): HostSpec {
  const f = o.profile.figures;
  const ncpu = hostCpus(o);
  const rps = o.rpsCpus ?? (o.mode === "softirq" ? o.rxCpus : []);
  const napiCpus = o.mode === "threaded" || o.mode === "busy-poll" ? o.rxCpus : null;
  const rv = o.receiver;
  const batch = o.batch ?? 64;
  const hogs: HogSpec[] = [];
  // the measured share is a given, not something to compete for: the replay runs at nice -20 so
  // that it gets it whatever the bench's tasks want
  (o.otherWork ?? []).forEach((pctOfCpu, cpu) => {
    if (pctOfCpu > 0 && cpu < ncpu)
      hogs.push({
        kernel: "host",
        name: `other-${cpu}`,
        cpus: [cpu],
        startCpu: cpu,
        policy: { policy: "other", nice: -20 },
        duty: pctOfCpu / 100,
      });
  });
  for (let cpu = 0; cpu < ncpu; cpu++)
    for (let i = 0; i < backgroundOn(o, cpu); i++)
      hogs.push({ kernel: "host", name: `other-${cpu}-${i}`, cpus: [cpu], startCpu: cpu });
  return {
    profile: o.profile,
    seed: o.seed ?? 1,
    kernels: [
      { name: "host", cpus: ncpu, softirqPolicy: o.profile.softirqPolicy, fairClass: o.profile.fairClass },
    ],
    // the bench's flows: 198.18.0.1:<ephemeral> -> 198.18.0.2:(5001 + i), one socket and receiver each
    flows: {
      count: o.flows,
      payloadBytes: o.size,
      ratePps: 0,
      src: { ip: "198.18.0.1", port: 40000, portStep: 0 },
      dst: { ip: "198.18.0.2", port: 5001, portStep: 1 },
      device: "nl-rx",
      kernel: "host",
      truesizeBytes: vethTruesize(udpFraming(o.size, f.mtu), f.skbOverheadBytes),
      // the sender's skbs, read on the rx CPUs, go back to its CPU (skb_attempt_defer_free)
      allocCpu: o.txCpus[0] as number,
    },
    veths: [
      {
        kernel: "host",
        dev: "nl-rx",
        napi: {
          mode: o.mode === "softirq" ? "softirq" : o.mode === "busy-poll" ? "busy-poll" : "threaded",
          threadCpus: napiCpus,
          threadCpu: napiCpus?.[0] ?? (o.rxCpus[0] as number),
        },
        rpsCpus: rps.length > 0 ? rps : null,
      },
    ],
    receivers: {
      name: "receiver",
      cpus: o.rxCpus,
      startCpus: o.rxCpus,
      // sk_napi_id is the veth's NAPI (GRO set it; RPS keeps it), so busy polling polls the veth ring
      recv:
        !rv || (rv.kind === "blocking" && !rv.busyReadNs)
          ? { kind: "netserver" }
          : {
              kind: rv.kind,
              busyReadNs: rv.busyReadNs ?? 0,
              preferBusyPoll: false,
              busyPollBudget: rv.busyPollBudget ?? BUSY_POLL_BUDGET,
            },
    },
    senders: [
      {
        kernel: "host",
        name: "sender",
        cpus: o.txCpus,
        startCpu: o.txCpus[0] as number,
        device: "nl-rx",
        msgsPerCall: Math.ceil(batch / o.flows) * o.flows,
        ratePps: o.ratePps ?? 0,
        cutOnDrop: (o.generator ?? "packet") === "packet",
      },
    ],
    hogs,
    // the bench's threads are one process in one session, the NAPI kthread is not
    ...((f.autogroup ?? 0) > 0 ? { autogroup: { senders: ["sender"], receivers: true } } : {}),
  };
}

/** Simulate one bench cell. Deterministic for identical options and seed. */
export function runBenchCell(o: BenchHostOptions): SimCell {
  validateBenchHost(o);
  const wallStart = performance.now();
  const spec = benchHostSpec(o);
  const host = buildHost(spec);
  const { q, flows, backlogs, hogs, receivers } = host;
  const k = host.kernel("host");
  const f = o.profile.figures;
  const seed = spec.seed;
  const veth = (host.veths[0] as BuiltVeth).rx;
  const napiCpus = (host.veths[0] as BuiltVeth).spec.napi.threadCpus ?? null;
  const kthread = (host.veths[0] as BuiltVeth).napi.thread;
  const senderOf = host.senders[0] as BuiltSender;
  const sender = senderOf.task;
  host.start();
  const warmup = o.warmupNs ?? Math.min(50_000_000, Math.round(o.durationNs / 4));
  q.runUntil(warmup);

  // the measurement window: differences of counters, as the bench's two snapshots
  host.resetStats();
  const sentBase = senderOf.body?.sent ?? 0;
  const recvBase = flows.map((fl) => fl.socket?.delivered ?? 0);
  const dropBase = flows.map((fl) => fl.socket?.drops ?? 0);
  const eventsBase = q.processed;
  q.runUntil(warmup + o.durationNs);
  for (const cpu of k.cpus) cpu.flush();

  const secs = o.durationNs / 1e9;
  const sent = (senderOf.body?.sent ?? 0) - sentBase;
  let received = 0;
  let sockDrops = 0;
  flows.forEach((fl, i) => {
    received += (fl.socket?.delivered ?? 0) - (recvBase[i] ?? 0);
    sockDrops += (fl.socket?.drops ?? 0) - (dropBase[i] ?? 0);
  });
  const pct = (ns: number) => round1((100 * ns) / o.durationNs);
  // a task's run time as its schedstat shows it: without CONFIG_IRQ_TIME_ACCOUNTING the interrupts
  // and softirqs that ran while it was current are part of it
  const runNs = (t: Task) => t.sumExecNs + t.irqNs;
  const onCpu = (kind: string, cpu: number) =>
    k.tasks.reduce(
      (s, t) => (t.kind === kind && t.cpus?.length === 1 && t.cpu === cpu ? s + runNs(t) : s),
      0,
    );
  // /proc/stat without CONFIG_IRQ_TIME_ACCOUNTING is a tick sample (account_process_tick ->
  // account_system_time): the softirq share is the time a tick coming due would be charged as softirq
  // (Cpu.tickSoftirqNs: in a softirq, in a hardirq whose exit runs one, or with an IPI on its way);
  // a tick never lands inside a hardirq (irqs are off there), so hardirq shows as 0
  const tickSampled = f.irqTimeAccounting === 0;
  const perCpu: SimCpuSplit[] = k.cpus.map((cpu) => ({
    cpu: cpu.id,
    busyPct: round1(100 - (100 * cpu.idleNs) / o.durationNs),
    softirqPct: pct(tickSampled ? cpu.tickSoftirqNs : cpu.softirqNs),
    irqPct: tickSampled ? 0 : pct(cpu.hardirqNs),
    receiversPct: pct(onCpu("receiver", cpu.id)),
    senderPct: pct(onCpu("sender", cpu.id)),
    napiKthreadPct: pct(onCpu("napi", cpu.id)),
    ksoftirqdPct: pct(cpu.timeOfKind("ksoftirqd")),
  }));
  const taskTime = (ts: Task[], cpus: number[] | null): SimTaskTime => ({
    cpus,
    cpuPct: pct(ts.reduce((s, t) => s + runNs(t), 0)),
    waitPct: pct(ts.reduce((s, t) => s + t.waitNs, 0)),
  });
  const measuredCpus = new Set([...o.rxCpus, ...o.txCpus]);
  return {
    mode: o.mode,
    size: o.size,
    flows: o.flows,
    elapsedNs: o.durationNs,
    sent,
    received,
    offeredPps: Math.round(sent / secs),
    deliveredPps: Math.round(received / secs),
    drops: {
      ring: veth.drops, // skbs, as the bench's tx_dropped counts them (a fragment each)
      backlog: backlogs.reduce((s, b) => s + b.dropped, 0),
      socket: sockDrops,
      reassembly: 0,
    },
    timeSqueeze: k.cpus.reduce((s, c) => s + c.softnet.timeSqueeze, 0),
    rpsReceived: backlogs.reduce((s, b) => s + b.receivedRps, 0),
    perCpu,
    foreignPct: pct(hogs.reduce((s, t) => (measuredCpus.has(t.cpu) ? s + runNs(t) : s), 0)),
    receivers: taskTime(receivers, o.rxCpus),
    sender: taskTime([sender], o.txCpus),
    napiKthread: kthread
      ? { ...taskTime([kthread], napiCpus), name: kthread.name, slices: kthread.slices }
      : null,
    sim: {
      events: q.processed - eventsBase,
      wallMs: round1(performance.now() - wallStart),
      seed,
      profile: o.profile.name,
    },
  };
}

export interface BenchSweep {
  modes: BenchHostMode[];
  sizes: number[];
  flows: number[];
}

/** Simulate a bench sweep (modes x sizes x flows), cells in the bench's order. */
export function simulateBench(
  sweep: BenchSweep,
  base: Omit<BenchHostOptions, "mode" | "size" | "flows">,
  onCell?: (i: number, total: number) => void,
): SimCell[] {
  const cells: SimCell[] = [];
  const total = sweep.modes.length * sweep.sizes.length * sweep.flows.length;
  for (const mode of sweep.modes)
    for (const size of sweep.sizes)
      for (const flows of sweep.flows) {
        onCell?.(cells.length, total);
        cells.push(runBenchCell({ ...base, mode, size, flows }));
      }
  onCell?.(total, total);
  return cells;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10 || 0;
}
