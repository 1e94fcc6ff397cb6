/**
 * Readers for the /proc files a bench cell is measured from. Each returns plain numbers; the
 * caller takes differences between two snapshots. Files of a network namespace are read through
 * /proc/<pid>/task/<tid>/net/..., the view of a thread that has entered that namespace, so the
 * main thread never has to leave the host's namespace.
 */
import { readdirSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";

/** USER_HZ: the unit of /proc/stat; 100 on every Linux architecture napilab runs on. */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

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
  const out = new Map<number, CpuTimes>();
  for (const line of text.split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = (m[2] ?? "").trim().split(/\s+/).map(Number);
    const v = (i: number) => (f[i] ?? 0) * NS_PER_TICK;
    // columns: user nice system idle iowait irq softirq steal guest guest_nice
    const t: CpuTimes = {
      user: v(0) + v(1),
      system: v(2),
      idle: v(3) + v(4),
      irq: v(5),
      softirq: v(6),
      steal: v(7),
      total: 0,
    };
    t.total = t.user + t.system + t.idle + t.irq + t.softirq + t.steal;
    out.set(Number(m[1]), t);
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
  const out = new Map<number, Softnet>();
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .forEach((line, i) => {
      const f = line
        .trim()
        .split(/\s+/)
        .map((h) => Number.parseInt(h, 16));
      const cpu = f.length > 12 ? (f[12] ?? i) : i;
      out.set(cpu, {
        processed: f[0] ?? 0,
        dropped: f[1] ?? 0,
        timeSqueeze: f[2] ?? 0,
        receivedRps: f[9] ?? 0,
        flowLimit: f[10] ?? 0,
      });
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
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const num = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(text)?.[1] ?? 0);
    return { voluntary: num("voluntary_ctxt_switches"), involuntary: num("nonvoluntary_ctxt_switches") };
  } catch {
    return undefined;
  }
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
  const lines = readFileSync(`${netDir}/snmp`, "utf8").split("\n");
  const head = lines.find((l) => l.startsWith("Udp: In"))?.split(/\s+/) ?? [];
  const vals = lines.find((l) => /^Udp: \d/.test(l))?.split(/\s+/) ?? [];
  const get = (k: string) => Number(vals[head.indexOf(k)] ?? 0);
  return {
    inDatagrams: get("InDatagrams"),
    noPorts: get("NoPorts"),
    inErrors: get("InErrors"),
    rcvbufErrors: get("RcvbufErrors"),
    memErrors: get("MemErrors"),
  };
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
  for (const line of readFileSync(`${netDir}/dev`, "utf8").split("\n")) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] !== ifname) continue;
    const f = (m[2] ?? "").trim().split(/\s+/).map(Number);
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    return { rxPackets: f[1] ?? 0, rxDropped: f[3] ?? 0, txPackets: f[9] ?? 0, txDropped: f[11] ?? 0 };
  }
  throw new Error(`device ${ifname} not in ${netDir}/dev`);
}

/** Pids of the per-CPU ksoftirqd threads (kernel `run_ksoftirqd`), by CPU. */
export function findKsoftirqd(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^ksoftirqd\/(\d+)$/.exec(readFileSync(`/proc/${entry}/comm`, "utf8").trim());
      if (m) out.set(Number(m[1]), Number(entry));
    } catch {
      // a process that exited while we looked
    }
  }
  return out;
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
