/**
 * /proc/net/dev (kernel `dev_seq_printf_stats`): per-device counters of the namespace. The line is
 * `name: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets errs drop fifo
 * colls carrier compressed`. These are the fallback when the driver has no per-queue qstats.
 */

export interface DevCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txDropped: number;
}

export function parseNetDev(text: string): Map<string, DevCounters> {
  const out = new Map<string, DevCounters>();
  for (const line of text.split("\n")) {
    const m = /^\s*([^\s:|]{1,15}):((?:\s*\d+){16})\s*$/.exec(line);
    if (!m) continue;
    const f = (m[2] as string).trim().split(/\s+/).map(Number);
    if (f.length !== 16 || !f.every(Number.isSafeInteger)) continue;
    out.set(m[1] as string, {
      rxBytes: f[0] as number,
      rxPackets: f[1] as number,
      rxErrors: f[2] as number,
      rxDropped: f[3] as number,
      txBytes: f[8] as number,
      txPackets: f[9] as number,
      txDropped: f[11] as number,
    });
  }
  return out;
}
