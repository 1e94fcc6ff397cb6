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

/**
 * One vector's row (NET_RX for the sampler), the same as `parseSoftirqs(text).get(vector)` but
 * without building the other rows: a sampler reads the file every second and needs one of ten.
 */
export function parseSoftirqRow(text: string, vector: string): Map<number, number> | undefined {
  let header: string | undefined;
  let row: RegExpExecArray | undefined;
  const tag = `${vector}:`;
  for (let at = 0; at <= text.length; ) {
    let end = text.indexOf("\n", at);
    if (end === -1) end = text.length;
    const line = text.slice(at, end);
    at = end + 1;
    if (header === undefined && /^\s*CPU\d+/.test(line)) header = line;
    if (line.includes(tag)) {
      const m = /^\s*([A-Z_]+):((?:\s+\d+)*)\s*$/.exec(line);
      if (m && m[1] === vector) row = m; // the last one wins, as in parseSoftirqs
    }
  }
  if (header === undefined) return undefined;
  const cpus: number[] = [];
  for (const name of header.trim().split(/\s+/)) {
    const m = /^CPU(\d+)$/.exec(name);
    if (!m) return undefined;
    cpus.push(Number(m[1]));
  }
  if (!row) return undefined;
  const out = new Map<number, number>();
  const counts = (row[2] as string).trim();
  if (counts === "") return out;
  counts.split(/\s+/).forEach((c, i) => {
    const cpu = cpus[i];
    if (cpu !== undefined) out.set(cpu, Number(c));
  });
  return out;
}
