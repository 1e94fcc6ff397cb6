/**
 * /proc/stat per-CPU lines (kernel `show_stat`, fs/proc/stat.c): time spent per state, in USER_HZ
 * ticks, converted here to integer ns. Columns: user nice system idle iowait irq softirq steal
 * guest guest_nice (older kernels print fewer; missing ones count as 0).
 */

/** USER_HZ: the unit of /proc/stat (`nsec_to_clock_t`); 100 on every architecture napilab runs on. */
export const USER_HZ = 100;
const NS_PER_TICK = 1_000_000_000 / USER_HZ;

export interface CpuStat {
  userNs: number;
  niceNs: number;
  systemNs: number;
  idleNs: number;
  iowaitNs: number;
  irqNs: number;
  softirqNs: number;
  stealNs: number;
  /** Sum of the above (guest time is already inside user). */
  totalNs: number;
}

const FIELDS = [
  "userNs",
  "niceNs",
  "systemNs",
  "idleNs",
  "iowaitNs",
  "irqNs",
  "softirqNs",
  "stealNs",
] as const;

/** Per-CPU times keyed by CPU number; the aggregate `cpu` line and malformed lines are skipped. */
export function parseCpuStat(text: string): Map<number, CpuStat> {
  const out = new Map<number, CpuStat>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("cpu")) continue;
    const m = /^cpu(\d+)((?:\s+\d+)+)\s*$/.exec(line);
    if (!m) continue;
    const cols = (m[2] as string).trim().split(/\s+/).map(Number);
    const s = { totalNs: 0 } as CpuStat;
    FIELDS.forEach((f, i) => {
      s[f] = (cols[i] ?? 0) * NS_PER_TICK;
      s.totalNs += s[f];
    });
    out.set(Number(m[1]), s);
  }
  return out;
}
