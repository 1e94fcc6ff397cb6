/**
 * One snapshot of the rx path: every counter observe reports, read in one pass, stamped with a
 * monotonic clock. Rates come from the difference of two snapshots (see rates.ts); nothing here
 * interprets the numbers.
 */
import { readdirSync } from "node:fs";
import { withNetns } from "../linux/index.js";
import type { NapiRecord, NapiSource } from "./napi-source.js";
import { type CpuStat, parseCpuStat } from "./parse-cpu-stat.js";
import { type DevCounters, parseNetDev } from "./parse-net-dev.js";
import { parseUdpSnmp, type UdpCounters } from "./parse-snmp.js";
import { parseSoftirqRow } from "./parse-softirqs.js";
import { parseSoftnet, type SoftnetCpu } from "./parse-softnet.js";
import { parseTaskSchedstat, parseTaskStat, type TaskSchedstat, type TaskStat } from "./parse-task.js";
import { type ProcFiles, type ProcTree, readProcText } from "./proc-files.js";
import type { QueueCounters } from "./qstats.js";

/** A task's counters (a NAPI kthread or a ksoftirqd); null parts when the task is gone. */
export interface TaskSample {
  pid: number;
  /** /proc/<pid>/stat: comm, last CPU, class (read for NAPI kthreads only). */
  stat: TaskStat | null;
  /** /proc/<pid>/schedstat: run time, run-queue wait, times switched in. */
  sched: TaskSchedstat | null;
}

export interface NapiSample extends NapiRecord {
  task: TaskSample | null;
}

export interface Snapshot {
  /** Monotonic time of the snapshot, integer ns. */
  tNs: number;
  napis: NapiSample[];
  queues: QueueCounters[];
  /** Online CPUs (those /proc/stat lists), ascending. */
  cpus: number[];
  cpuStat: Map<number, CpuStat>;
  /** NET_RX softirq runs per CPU (/proc/softirqs). */
  netRx: Map<number, number>;
  softnet: Map<number, SoftnetCpu>;
  /** ksoftirqd/N per CPU N. */
  ksoftirqd: Map<number, TaskSample>;
  /** /proc/net/dev of the observed namespace. */
  devices: Map<string, DevCounters>;
  udp: UdpCounters | null;
  /** Why a part is missing (e.g. a kernel that cannot list NAPI instances). */
  notes: string[];
}

/** Read one task's schedstat and (optionally) stat. */
export function sampleTask(files: ProcFiles, root: string, pid: number, withStat: boolean): TaskSample {
  const base = `${root}/${pid}`;
  const stat = withStat ? files.read(`${base}/stat`, true) : undefined;
  const sched = files.read(`${base}/schedstat`, true);
  return {
    pid,
    stat: stat === undefined ? null : (parseTaskStat(stat) ?? null),
    sched: sched === undefined ? null : (parseTaskSchedstat(sched) ?? null),
  };
}

/** Pids of the per-CPU ksoftirqd threads (kernel `run_ksoftirqd`, comm ksoftirqd/N), by CPU. */
export function findKsoftirqd(root: string): Map<number, number> {
  const out = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const m = /^ksoftirqd\/(\d+)\s*$/.exec(readProcText(`${root}/${e}/comm`, 256) ?? "");
    if (m) out.set(Number(m[1]), Number(e));
  }
  return out;
}

export interface SnapshotOptions {
  tree: ProcTree;
  /** Open files reused from sample to sample. */
  files: ProcFiles;
  source: NapiSource;
  /** The named network namespace whose devices are observed (undefined = napilab's own). */
  netns?: string | undefined;
  /** ksoftirqd pids by CPU, found once by the caller (they live as long as the CPU is online). */
  ksoftirqd: Map<number, number>;
  /** Monotonic clock in ns; injectable for tests. */
  now?: () => number;
}

const monotonicNs = () => Number(process.hrtime.bigint());

export function takeSnapshot(o: SnapshotOptions): Snapshot {
  const now = o.now ?? monotonicNs;
  const root = o.tree.root;
  const { napis, queues, note } = o.source.read();
  const f = o.files;
  const cpuStat = parseCpuStat(f.read(`${root}/stat`, true) ?? "");
  const netRx = parseSoftirqRow(f.read(`${root}/softirqs`, true) ?? "", "NET_RX") ?? new Map();
  const softnet = parseSoftnet(f.read(`${root}/net/softnet_stat`) ?? "");
  // /proc/thread-self/net shows the namespace of the reading thread at open: open it from inside
  // (once: the files stay open, bound to that namespace, and are re-read in place)
  const devPath = `${o.tree.netDir}/dev`;
  const snmpPath = `${o.tree.netDir}/snmp`;
  const readNet = () => [f.read(devPath), f.read(snmpPath)];
  const [devText, snmpText] =
    f.isOpen(devPath) && f.isOpen(snmpPath) ? readNet() : withNetns(o.netns, readNet);
  const ksoftirqd = new Map<number, TaskSample>();
  for (const [cpu, pid] of o.ksoftirqd) ksoftirqd.set(cpu, sampleTask(f, root, pid, false));
  const samples: NapiSample[] = napis.map((n) => ({
    ...n,
    task: n.pid === null ? null : sampleTask(f, root, n.pid, true),
  }));
  f.sweep();
  return {
    tNs: now(),
    napis: samples,
    queues,
    cpus: [...cpuStat.keys()].sort((a, b) => a - b),
    cpuStat,
    netRx,
    softnet,
    ksoftirqd,
    devices: parseNetDev(devText ?? ""),
    udp: snmpText === undefined ? null : (parseUdpSnmp(snmpText) ?? null),
    notes: note === undefined ? [] : [note],
  };
}
