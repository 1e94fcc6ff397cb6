/**
 * The view an operator reads: per NAPI, per CPU and per device rates over the interval between two
 * snapshots. CPU and wait percentages are of one CPU (100% = one CPU busy for the whole interval).
 */
import type { KernelThreaded, NapiMode } from "../core/vocabulary.js";
import { napiModeFromKernel } from "../core/vocabulary.js";
import type { NapiSample, Snapshot, TaskSample } from "./snapshot.js";

/** SCHED_* numbers of /proc/<pid>/stat field 41 (include/uapi/linux/sched.h). */
const POLICY_NAMES: Record<number, string> = {
  0: "other",
  1: "fifo",
  2: "rr",
  3: "batch",
  5: "idle",
  6: "deadline",
};

export interface NapiView {
  ifname: string;
  ifindex: number;
  id: number;
  rxQueues: number[];
  threaded: KernelThreaded;
  mode: NapiMode;
  pid: number | null;
  kthread: string | null;
  /** The CPU the kthread last ran on. */
  cpu: number | null;
  cpusAllowed: number[] | null;
  /** Scheduling class, e.g. "other", "fifo 50". */
  policy: string | null;
  /** Kthread CPU time over the interval, % of one CPU. */
  cpuPct: number | null;
  /** Time spent runnable but waiting for a CPU, % of the interval. */
  waitPct: number | null;
  switchesPerSec: number | null;
  /** Packets/s of the NAPI's rx queues (qstats), or of its device when it is the device's only NAPI. */
  pps: number | null;
  /** Where pps comes from: per-queue qstats, the device counters, or nowhere. */
  ppsSource: "qstats" | "device" | null;
  /** Cumulative counters of the kthread: run and run-queue wait ns, times switched in. */
  totals: { runNs: number; waitNs: number; switches: number } | null;
}

export interface CpuView {
  cpu: number;
  /** Busy (not idle or iowait), softirq and hard-irq time, % of the interval. */
  busyPct: number;
  softirqPct: number;
  irqPct: number;
  ksoftirqdPct: number | null;
  /** CPU of the NAPI kthreads that last ran on this CPU. */
  napiPct: number;
  netRxPerSec: number;
  processedPerSec: number;
  dropsPerSec: number;
  squeezesPerSec: number;
  backlogLen: number | null;
}

export interface DeviceView {
  ifname: string;
  rxPps: number;
  rxBytesPerSec: number;
  rxDropsPerSec: number;
}

export interface View {
  intervalNs: number;
  napis: NapiView[];
  cpus: CpuView[];
  devices: DeviceView[];
  udp: { rcvbufErrorsPerSec: number; inErrorsPerSec: number } | null;
  /** Why a part of the view is missing. */
  notes: string[];
}

const pct = (deltaNs: number, intervalNs: number) => (intervalNs > 0 ? (100 * deltaNs) / intervalNs : 0);
/** A counter's increase; a counter that went backwards (wrapped or re-created) counts as no increase. */
const inc = (a: number, b: number) => (b >= a ? b - a : 0);

export function policyName(stat: TaskSample["stat"]): string | null {
  if (!stat) return null;
  const name = POLICY_NAMES[stat.policy] ?? `policy ${stat.policy}`;
  return stat.policy === 1 || stat.policy === 2 ? `${name} ${stat.rtPriority}` : name;
}

function napiKey(n: { ifindex: number; id: number; pid: number | null }): string {
  return `${n.ifindex}/${n.id}/${n.pid}`;
}

function taskDelta(a: TaskSample | null | undefined, b: TaskSample | null, intervalNs: number) {
  if (!a?.sched || !b?.sched || a.pid !== b.pid) return null;
  const perSec = intervalNs > 0 ? 1e9 / intervalNs : 0;
  return {
    cpuPct: pct(inc(a.sched.runNs, b.sched.runNs), intervalNs),
    waitPct: pct(inc(a.sched.waitNs, b.sched.waitNs), intervalNs),
    // schedstat's third field counts the times the task was switched in (sched_info pcount)
    switchesPerSec: inc(a.sched.slices, b.sched.slices) * perSec,
  };
}

/** rx packets per "ifindex/queue" of a snapshot's qstats. */
function queuePackets(s: Snapshot): Map<string, number> {
  return new Map(s.queues.map((q) => [`${q.ifindex}/${q.queue}`, q.rxPackets]));
}

function napiPps(
  prev: Snapshot,
  cur: Snapshot,
  n: NapiSample,
  perSec: number,
  ctx: { qa: Map<string, number>; qb: Map<string, number>; siblings: Map<number, number> },
) {
  const keys = n.rxQueues.map((q) => `${n.ifindex}/${q}`);
  if (keys.length > 0 && keys.every((k) => ctx.qa.has(k) && ctx.qb.has(k))) {
    const sum = (m: Map<string, number>) => keys.reduce((s, k) => s + (m.get(k) ?? 0), 0);
    return { pps: inc(sum(ctx.qa), sum(ctx.qb)) * perSec, ppsSource: "qstats" as const };
  }
  const siblings = ctx.siblings.get(n.ifindex) ?? 0;
  const da = prev.devices.get(n.ifname);
  const db = cur.devices.get(n.ifname);
  if (siblings === 1 && da && db)
    return { pps: inc(da.rxPackets, db.rxPackets) * perSec, ppsSource: "device" as const };
  return { pps: null, ppsSource: null };
}

/** Rates between two snapshots of the same source (prev taken before cur). */
export function computeView(prev: Snapshot, cur: Snapshot): View {
  const intervalNs = Math.max(0, cur.tNs - prev.tNs);
  const perSec = intervalNs > 0 ? 1e9 / intervalNs : 0;
  const before = new Map(prev.napis.map((n) => [napiKey(n), n]));
  const siblings = new Map<number, number>();
  for (const n of cur.napis) siblings.set(n.ifindex, (siblings.get(n.ifindex) ?? 0) + 1);
  const ctx = { qa: queuePackets(prev), qb: queuePackets(cur), siblings };
  const napis: NapiView[] = cur.napis.map((n) => {
    const d = taskDelta(before.get(napiKey(n))?.task, n.task, intervalNs);
    const t = n.task;
    return {
      ifname: n.ifname,
      ifindex: n.ifindex,
      id: n.id,
      rxQueues: n.rxQueues,
      threaded: n.threaded,
      mode: napiModeFromKernel(n.threaded),
      pid: n.pid,
      kthread: t?.stat?.comm ?? null,
      cpu: t?.stat?.lastCpu ?? null,
      cpusAllowed: n.cpus,
      policy: policyName(t?.stat ?? null),
      cpuPct: d?.cpuPct ?? null,
      waitPct: d?.waitPct ?? null,
      switchesPerSec: d?.switchesPerSec ?? null,
      ...napiPps(prev, cur, n, perSec, ctx),
      totals: t?.sched ? { runNs: t.sched.runNs, waitNs: t.sched.waitNs, switches: t.sched.slices } : null,
    };
  });
  const napiPctByCpu = new Map<number, number>();
  for (const n of napis)
    if (n.cpu !== null) napiPctByCpu.set(n.cpu, (napiPctByCpu.get(n.cpu) ?? 0) + (n.cpuPct ?? 0));
  const cpus: CpuView[] = cur.cpus.map((cpu) => {
    const a = prev.cpuStat.get(cpu);
    const b = cur.cpuStat.get(cpu);
    // /proc/stat advances in ticks: use its own total as the interval so busy + idle = 100%
    const span = a && b ? inc(a.totalNs, b.totalNs) : 0;
    const share = (f: "softirqNs" | "irqNs") => (a && b ? pct(inc(a[f], b[f]), span) : 0);
    const idle = a && b ? pct(inc(a.idleNs + a.iowaitNs, b.idleNs + b.iowaitNs), span) : 100;
    const sa = prev.softnet.get(cpu);
    const sb = cur.softnet.get(cpu);
    const ks = taskDelta(prev.ksoftirqd.get(cpu), cur.ksoftirqd.get(cpu) ?? null, intervalNs);
    return {
      cpu,
      busyPct: span > 0 ? Math.max(0, 100 - idle) : 0,
      softirqPct: share("softirqNs"),
      irqPct: share("irqNs"),
      ksoftirqdPct: ks?.cpuPct ?? null,
      napiPct: napiPctByCpu.get(cpu) ?? 0,
      netRxPerSec: inc(prev.netRx.get(cpu) ?? 0, cur.netRx.get(cpu) ?? 0) * perSec,
      processedPerSec: sa && sb ? inc(sa.processed, sb.processed) * perSec : 0,
      dropsPerSec: sa && sb ? inc(sa.dropped, sb.dropped) * perSec : 0,
      squeezesPerSec: sa && sb ? inc(sa.timeSqueeze, sb.timeSqueeze) * perSec : 0,
      backlogLen: sb?.backlogLen ?? null,
    };
  });
  const devNames = [...new Set(cur.napis.map((n) => n.ifname))];
  const devices: DeviceView[] = devNames.flatMap((ifname) => {
    const a = prev.devices.get(ifname);
    const b = cur.devices.get(ifname);
    if (!a || !b) return [];
    return [
      {
        ifname,
        rxPps: inc(a.rxPackets, b.rxPackets) * perSec,
        rxBytesPerSec: inc(a.rxBytes, b.rxBytes) * perSec,
        rxDropsPerSec: inc(a.rxDropped, b.rxDropped) * perSec,
      },
    ];
  });
  const udp =
    prev.udp && cur.udp
      ? {
          rcvbufErrorsPerSec: inc(prev.udp.rcvbufErrors, cur.udp.rcvbufErrors) * perSec,
          inErrorsPerSec: inc(prev.udp.inErrors, cur.udp.inErrors) * perSec,
        }
      : null;
  return { intervalNs, napis, cpus, devices, udp, notes: cur.notes };
}
