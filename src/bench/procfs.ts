/**
 * Readers for the /proc files a bench cell is measured from. Each returns plain numbers; the
 * caller takes differences between two snapshots. Files of a network namespace are read through
 * /proc/<pid>/task/<tid>/net/..., the view of a thread that has entered that namespace, so the
 * main thread never has to leave the host's namespace.
 */
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import { parseCpuStat } from "../observe/parse-cpu-stat.js";
import { parseNetDev } from "../observe/parse-net-dev.js";
import { parseUdpSnmp } from "../observe/parse-snmp.js";
import { parseSoftnet } from "../observe/parse-softnet.js";
import { parseTaskStatus } from "../observe/parse-task.js";
import { findKsoftirqd as findKsoftirqdIn } from "../observe/snapshot.js";

/** Per-CPU time from /proc/stat, in ns (kernel `kcpustat` fields, reported in USER_HZ ticks). */
export interface CpuTimes {
  user: number;
  system: number;
  idle: number;
  irq: number;
  softirq: number;
  steal: number;
  total: number;
}

export function readCpuTimes(text = readFileSync("/proc/stat", "utf8")): Map<number, CpuTimes> {
  // the parser is the observe pillar's (src/observe/parse-cpu-stat.ts); this keeps the bench's shape
  const out = new Map<number, CpuTimes>();
  for (const [cpu, c] of parseCpuStat(text)) {
    out.set(cpu, {
      user: c.userNs + c.niceNs,
      system: c.systemNs,
      idle: c.idleNs + c.iowaitNs,
      irq: c.irqNs,
      softirq: c.softirqNs,
      steal: c.stealNs,
      total: c.totalNs,
    });
  }
  return out;
}

/**
 * /proc/net/softnet_stat, one line per CPU (kernel `softnet_seq_show`): hex columns processed,
 * dropped (backlog over netdev_max_backlog), time_squeeze (net_rx_action out of budget or time),
 * ..., received_rps, flow_limit_count, backlog_len, cpu index.
 */
export interface Softnet {
  processed: number;
  dropped: number;
  timeSqueeze: number;
  receivedRps: number;
  flowLimit: number;
}

export function readSoftnet(text = readFileSync("/proc/net/softnet_stat", "utf8")): Map<number, Softnet> {
  // every softnet_stat layout is parsed by src/observe/parse-softnet.ts
  const out = new Map<number, Softnet>();
  for (const [cpu, c] of parseSoftnet(text))
    out.set(cpu, {
      processed: c.processed,
      dropped: c.dropped,
      timeSqueeze: c.timeSqueeze,
      receivedRps: c.receivedRps,
      flowLimit: c.flowLimitCount,
    });
  return out;
}

/** /proc/<pid>/schedstat (kernel `proc_pid_schedstat`): time on CPU, time waiting on a runqueue, slices. */
export interface SchedStat {
  runNs: number;
  waitNs: number;
  slices: number;
}

export function readSchedStat(path: string): SchedStat | undefined {
  try {
    const [run, wait, slices] = readFileSync(path, "utf8").trim().split(/\s+/).map(Number);
    return { runNs: run ?? 0, waitNs: wait ?? 0, slices: slices ?? 0 };
  } catch {
    return undefined; // the task is gone (e.g. a NAPI kthread stopped with its NAPI)
  }
}

/** Context switch counts from /proc/<pid>/sched (kernel `proc_sched_show_task`). */
export interface SwitchCounts {
  voluntary: number;
  involuntary: number;
}

export function readSwitches(pid: number): SwitchCounts | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const s = parseTaskStatus(text);
  return { voluntary: s.voluntarySwitches, involuntary: s.involuntarySwitches };
}

/** The CPU a task last ran on: field 39 of /proc/<pid>/stat (after the parenthesised comm). */
export function readLastCpu(statPath: string): number | undefined {
  try {
    const text = readFileSync(statPath, "utf8");
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const cpu = Number(rest[36]);
    return Number.isInteger(cpu) ? cpu : undefined;
  } catch {
    return undefined;
  }
}

/** The Udp line of a namespace's /proc/net/snmp (kernel `snmp4_udp_list`). */
export interface UdpSnmp {
  inDatagrams: number;
  noPorts: number;
  inErrors: number;
  rcvbufErrors: number;
  memErrors: number;
}

export function readUdpSnmp(netDir: string): UdpSnmp {
  const u = parseUdpSnmp(readFileSync(`${netDir}/snmp`, "utf8"));
  return u ?? { inDatagrams: 0, noPorts: 0, inErrors: 0, rcvbufErrors: 0, memErrors: 0 };
}

/** IP reassembly counters of a namespace's /proc/net/snmp (kernel `snmp4_ipstats_list`, ip_defrag). */
export interface IpReasm {
  reasmReqds: number;
  reasmOks: number;
  reasmFails: number;
}

export function readIpReasm(netDir: string): IpReasm {
  const lines = readFileSync(`${netDir}/snmp`, "utf8").split("\n");
  const head = lines.find((l) => l.startsWith("Ip: Forwarding"))?.split(/\s+/) ?? [];
  const vals = lines.find((l) => /^Ip: \d/.test(l))?.split(/\s+/) ?? [];
  const get = (k: string) => Number(vals[head.indexOf(k)] ?? 0);
  return { reasmReqds: get("ReasmReqds"), reasmOks: get("ReasmOKs"), reasmFails: get("ReasmFails") };
}

/** Sum of the drops column of /proc/net/udp (kernel `udp4_format_sock`, sk_drops) over some local ports. */
export function readUdpSocketDrops(netDir: string, ports: ReadonlySet<number>): number {
  let drops = 0;
  for (const line of readFileSync(`${netDir}/udp`, "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (!local) continue;
    const port = Number.parseInt(local.split(":")[1] ?? "", 16);
    if (ports.has(port)) drops += Number(f[12] ?? 0);
  }
  return drops;
}

/** A device's counters from a namespace's /proc/net/dev (kernel `dev_seq_printf_stats`). */
export interface DevCounters {
  rxPackets: number;
  rxDropped: number;
  txPackets: number;
  txDropped: number;
}

export function readDevCounters(netDir: string, ifname: string): DevCounters {
  const c = parseNetDev(readFileSync(`${netDir}/dev`, "utf8")).get(ifname);
  if (!c) throw new Error(`device ${ifname} not in ${netDir}/dev`);
  return { rxPackets: c.rxPackets, rxDropped: c.rxDropped, txPackets: c.txPackets, txDropped: c.txDropped };
}

/** Pids of the per-CPU ksoftirqd threads (kernel `run_ksoftirqd`), by CPU. */
export function findKsoftirqd(): Map<number, number> {
  return findKsoftirqdIn("/proc");
}

/** CPUs the kernel has online (/sys/devices/system/cpu/online, cpulist format). */
export function onlineCpusText(): string {
  return readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
}

/**
 * Whether the kernel accounts irq and softirq time apart from tasks (CONFIG_IRQ_TIME_ACCOUNTING,
 * kernel `irqtime_account_irq`). Without it, softirq work that runs on a task's back (on return
 * from an interrupt, or at local_bh_enable) is charged to that task's run time, so a receiver's or
 * the sender's CPU share includes the softirq work done while it was current. null = unknown.
 */
export function irqTimeAccounting(): boolean | null {
  let config: string | undefined;
  try {
    config = gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    try {
      config = readFileSync(`/boot/config-${release()}`, "utf8");
    } catch {
      return null;
    }
  }
  return /^CONFIG_IRQ_TIME_ACCOUNTING=y$/m.test(config);
}
