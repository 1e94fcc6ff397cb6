/**
 * What one bench cell measures, as the difference of two snapshots of /proc taken around the
 * measurement window: packet counts, drops by the place they happen, and the CPU split.
 */
import type { CpuTimes, DevCounters, IpReasm, SchedStat, Softnet, SwitchCounts, UdpSnmp } from "./procfs.js";
import {
  readCpuTimes,
  readDevCounters,
  readIpReasm,
  readSchedStat,
  readSoftnet,
  readSwitches,
  readUdpSnmp,
  readUdpSocketDrops,
} from "./procfs.js";

/** Where to look: the threads whose time counts, and the namespaces' /proc views. */
export interface Probe {
  /** /proc/<pid>/task/<tid>/net of a thread in the receiver namespace. */
  rxNetDir: string;
  /** The same for the sender namespace. */
  txNetDir: string;
  rxIfname: string;
  txIfname: string;
  ports: ReadonlySet<number>;
  receiverTids: number[];
  senderTid: number;
  napiPid: number | null;
  ksoftirqd: Map<number, number>;
  cpus: number[];
}

export interface Snapshot {
  tNs: bigint;
  sent: number;
  received: number;
  /** Datagrams sent or received while the snapshot read /proc: how far its counters may disagree. */
  skew: number;
  cpu: Map<number, CpuTimes>;
  softnet: Map<number, Softnet>;
  receivers: SchedStat;
  sender: SchedStat;
  napi: SchedStat | undefined;
  napiSwitches: SwitchCounts | undefined;
  ksoftirqd: Map<number, SchedStat>;
  snmp: UdpSnmp;
  reasm: IpReasm;
  socketDrops: number;
  txDev: DevCounters;
  rxDev: DevCounters;
}

const ZERO: SchedStat = { runNs: 0, waitNs: 0, slices: 0 };

function addSched(a: SchedStat, b: SchedStat | undefined): SchedStat {
  return b ? { runNs: a.runNs + b.runNs, waitNs: a.waitNs + b.waitNs, slices: a.slices + b.slices } : a;
}

/**
 * Read every counter of a cell at (nearly) one instant. The thread counters are read before and
 * after the /proc reads and averaged; their change in between is the snapshot's own uncertainty.
 */
export function snapshot(p: Probe, counts: () => readonly [number, number]): Snapshot {
  const [sent0, received0] = counts();
  const task = (tid: number) => readSchedStat(`/proc/${process.pid}/task/${tid}/schedstat`);
  const ks = new Map<number, SchedStat>();
  for (const cpu of p.cpus) {
    const pid = p.ksoftirqd.get(cpu);
    const s = pid === undefined ? undefined : readSchedStat(`/proc/${pid}/schedstat`);
    if (s) ks.set(cpu, s);
  }
  const snap = {
    tNs: process.hrtime.bigint(),
    cpu: readCpuTimes(),
    softnet: readSoftnet(),
    receivers: p.receiverTids.reduce((acc, tid) => addSched(acc, task(tid)), ZERO),
    sender: task(p.senderTid) ?? ZERO,
    napi: p.napiPid === null ? undefined : readSchedStat(`/proc/${p.napiPid}/schedstat`),
    napiSwitches: p.napiPid === null ? undefined : readSwitches(p.napiPid),
    ksoftirqd: ks,
    snmp: readUdpSnmp(p.rxNetDir),
    reasm: readIpReasm(p.rxNetDir),
    socketDrops: readUdpSocketDrops(p.rxNetDir, p.ports),
    txDev: readDevCounters(p.txNetDir, p.txIfname),
    rxDev: readDevCounters(p.rxNetDir, p.rxIfname),
  };
  const [sent1, received1] = counts();
  return {
    ...snap,
    sent: (sent0 + sent1) / 2,
    received: (received0 + received1) / 2,
    skew: sent1 - sent0 + (received1 - received0),
  };
}

/** Share of one CPU, in percent, rounded to 0.1. */
function pct(ns: number, elapsedNs: number): number {
  return elapsedNs > 0 ? Math.round((ns / elapsedNs) * 1000) / 10 : 0;
}

export interface CpuSplit {
  cpu: number;
  /** From /proc/stat: shares of this CPU's time in the window. */
  busyPct: number;
  userPct: number;
  systemPct: number;
  softirqPct: number;
  irqPct: number;
  /** Tasks pinned to this CPU (only), from their schedstat, in percent of this CPU. */
  receiversPct: number;
  senderPct: number;
  napiKthreadPct: number;
  ksoftirqdPct: number;
}

export interface TaskTime {
  cpus: number[] | null;
  /** Time on CPU in percent of one CPU. */
  cpuPct: number;
  /** Time runnable but waiting for a CPU, in percent of the window (schedstat run_delay). */
  waitPct: number;
}

export interface NapiThreadStats extends TaskTime {
  pid: number;
  name: string | null;
  /** Times it was given a CPU (schedstat pcount), and context switches from /proc/<pid>/status. */
  slices: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
}

export interface CellMeasure {
  elapsedNs: number;
  sent: number;
  received: number;
  /** Datagrams that moved while the two snapshots were being read: the counts' uncertainty. */
  countSkew: number;
  offeredPps: number;
  deliveredPps: number;
  drops: {
    /** Full ptr_ring of the receiving veth: veth_xmit's drop counter (the sender side's tx_dropped). */
    ring: number;
    /** netdev_max_backlog overflow in enqueue_to_backlog (softnet_stat dropped, all CPUs). */
    backlog: number;
    /** Full socket receive buffers (UDP RcvbufErrors of the receiver namespace). */
    socket: number;
    /** The same counted per socket (sk_drops in /proc/net/udp) over the run's ports. */
    socketPerSocket: number;
    /** Receiving device's rx_dropped (veth_get_stats64), for reference. */
    rxDevice: number;
    /** Datagrams whose fragments could not be put together (ip_defrag: IP ReasmFails). */
    reassembly: number;
  };
  /** Datagrams reassembled from fragments (IP ReasmOKs); 0 when payloads fit the MTU. */
  reassembled: number;
  /** net_rx_action stopped early for budget or time (softnet_stat time_squeeze), all CPUs. */
  timeSqueeze: number;
  /** Packets steered to another CPU's backlog by RPS (softnet_stat received_rps), all CPUs. */
  rpsReceived: number;
  perCpu: CpuSplit[];
  /**
   * CPU time on the measured CPUs that none of the run's tasks nor softirq/irq used (other work on
   * the host), in percent of one CPU. A lower bound when the kernel charges softirq time to tasks.
   */
  foreignPct: number;
  receivers: TaskTime;
  sender: TaskTime;
  napiKthread: NapiThreadStats | null;
}

export interface Placement {
  rxCpus: number[];
  txCpus: number[];
  napiCpus: number[] | null;
  napiName: string | null;
  napiPid: number | null;
  /**
   * CONFIG_IRQ_TIME_ACCOUNTING (procfs irqTimeAccounting; null: unknown, taken as on). Without it
   * the tasks' schedstat run time already holds the softirqs and irqs that ran while they were
   * current, so other work is busy time less ksoftirqd and the bench's tasks only.
   */
  irqTimeAccounting?: boolean | null;
}

/** Turn two snapshots into the cell's figures. */
export function measure(a: Snapshot, b: Snapshot, place: Placement): CellMeasure {
  const elapsedNs = Number(b.tNs - a.tNs);
  const sent = Math.round(b.sent - a.sent);
  const received = Math.round(b.received - a.received);
  let backlog = 0;
  let squeeze = 0;
  let rps = 0;
  for (const [cpu, s] of b.softnet) {
    const s0 = a.softnet.get(cpu);
    if (!s0) continue;
    backlog += s.dropped - s0.dropped;
    squeeze += s.timeSqueeze - s0.timeSqueeze;
    rps += s.receivedRps - s0.receivedRps;
  }
  const runDelta = (x: SchedStat | undefined, y: SchedStat | undefined) =>
    x && y ? { runNs: y.runNs - x.runNs, waitNs: y.waitNs - x.waitNs, slices: y.slices - x.slices } : ZERO;
  const recv = runDelta(a.receivers, b.receivers);
  const send = runDelta(a.sender, b.sender);
  const napi = runDelta(a.napi, b.napi);
  const onlyOn = (cpus: number[] | null, cpu: number) =>
    cpus !== null && cpus.length === 1 && cpus[0] === cpu;

  const perCpu: CpuSplit[] = [];
  for (const [cpu, t1] of b.cpu) {
    const t0 = a.cpu.get(cpu);
    if (!t0) continue;
    const total = t1.total - t0.total;
    const share = (f: keyof CpuTimes) => (total > 0 ? Math.round(((t1[f] - t0[f]) / total) * 1000) / 10 : 0);
    const ks = runDelta(a.ksoftirqd.get(cpu), b.ksoftirqd.get(cpu));
    perCpu.push({
      cpu,
      busyPct: Math.round((100 - share("idle")) * 10) / 10,
      userPct: share("user"),
      systemPct: share("system"),
      softirqPct: share("softirq"),
      irqPct: share("irq"),
      receiversPct: onlyOn(place.rxCpus, cpu) ? pct(recv.runNs, elapsedNs) : 0,
      senderPct: onlyOn(place.txCpus, cpu) ? pct(send.runNs, elapsedNs) : 0,
      napiKthreadPct: onlyOn(place.napiCpus, cpu) ? pct(napi.runNs, elapsedNs) : 0,
      ksoftirqdPct: pct(ks.runNs, elapsedNs),
    });
  }
  perCpu.sort((x, y) => x.cpu - y.cpu);
  const measured = perCpu.filter((p) => place.rxCpus.includes(p.cpu) || place.txCpus.includes(p.cpu));
  const irqApart = place.irqTimeAccounting !== false;
  const busy = measured.reduce(
    (acc, p) => acc + p.busyPct - p.ksoftirqdPct - (irqApart ? p.softirqPct + p.irqPct : 0),
    0,
  );
  const ours = pct(recv.runNs + send.runNs + napi.runNs, elapsedNs);
  const foreignPct = Math.max(0, Math.round((busy - ours) * 10) / 10);
  const sw0 = a.napiSwitches;
  const sw1 = b.napiSwitches;
  return {
    elapsedNs,
    sent,
    received,
    countSkew: Math.round(a.skew + b.skew),
    offeredPps: elapsedNs > 0 ? Math.round((sent * 1e9) / elapsedNs) : 0,
    deliveredPps: elapsedNs > 0 ? Math.round((received * 1e9) / elapsedNs) : 0,
    drops: {
      ring: b.txDev.txDropped - a.txDev.txDropped,
      backlog,
      socket: b.snmp.rcvbufErrors - a.snmp.rcvbufErrors,
      socketPerSocket: b.socketDrops - a.socketDrops,
      rxDevice: b.rxDev.rxDropped - a.rxDev.rxDropped,
      reassembly: b.reasm.reasmFails - a.reasm.reasmFails,
    },
    reassembled: b.reasm.reasmOks - a.reasm.reasmOks,
    timeSqueeze: squeeze,
    rpsReceived: rps,
    perCpu,
    foreignPct,
    receivers: {
      cpus: place.rxCpus,
      cpuPct: pct(recv.runNs, elapsedNs),
      waitPct: pct(recv.waitNs, elapsedNs),
    },
    sender: { cpus: place.txCpus, cpuPct: pct(send.runNs, elapsedNs), waitPct: pct(send.waitNs, elapsedNs) },
    napiKthread:
      place.napiPid === null || a.napi === undefined || b.napi === undefined
        ? null
        : {
            pid: place.napiPid,
            name: place.napiName,
            cpus: place.napiCpus,
            cpuPct: pct(napi.runNs, elapsedNs),
            waitPct: pct(napi.waitNs, elapsedNs),
            slices: napi.slices,
            voluntarySwitches: sw0 && sw1 ? sw1.voluntary - sw0.voluntary : 0,
            involuntarySwitches: sw0 && sw1 ? sw1.involuntary - sw0.involuntary : 0,
          },
  };
}
