/**
 * /proc/softirqs (kernel `show_softirqs`, fs/proc/softirqs.c): a header of CPU columns, then one
 * row per softirq vector with the number of times it ran on each CPU. Only online CPUs have a
 * column, so the header's CPU numbers, not the column positions, say which CPU a count belongs to.
 */

/** Vector name (NET_RX, NET_TX, ...) -> CPU -> count. */
export type SoftirqCounts = Map<string, Map<number, number>>;

export function parseSoftirqs(text: string): SoftirqCounts {
  const out: SoftirqCounts = new Map();
  const lines = text.split("\n");
  const header = lines.find((l) => /^\s*CPU\d+/.test(l));
  if (header === undefined) return out;
  const cpus: number[] = [];
  for (const name of header.trim().split(/\s+/)) {
    const m = /^CPU(\d+)$/.exec(name);
    if (!m) return out; // not the header we know
    cpus.push(Number(m[1]));
  }
  for (const line of lines) {
    const m = /^\s*([A-Z_]+):((?:\s+\d+)*)\s*$/.exec(line);
    if (!m) continue;
    const counts = (m[2] as string).trim() === "" ? [] : (m[2] as string).trim().split(/\s+/).map(Number);
    const row = new Map<number, number>();
    counts.forEach((c, i) => {
      const cpu = cpus[i];
      if (cpu !== undefined) row.set(cpu, c);
    });
    out.set(m[1] as string, row);
  }
  return out;
}
