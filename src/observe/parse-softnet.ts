/**
 * /proc/net/softnet_stat (kernel `softnet_seq_show`, net/core/net-procfs.c): one line of hex
 * columns per online CPU. Columns, in the order the kernel prints them: processed, dropped
 * (backlog over net.core.netdev_max_backlog, `enqueue_to_backlog`), time_squeeze (`net_rx_action`
 * out of netdev_budget or netdev_budget_usecs with work left), five zero columns (were fastroute
 * and cpu_collision), received_rps, flow_limit_count, then since 5.10 backlog_len and the CPU
 * index, and since 6.5 input_qlen and process_qlen. Older kernels print 10 or 11 columns and no CPU
 * index: lines are then numbered in order, which is right unless CPUs are offline.
 */

export interface SoftnetCpu {
  processed: number;
  dropped: number;
  timeSqueeze: number;
  receivedRps: number;
  flowLimitCount: number;
  /** Packets waiting in the CPU's backlog now (a gauge); null on kernels that do not print it. */
  backlogLen: number | null;
  /** Whether the CPU number came from the line itself (column 13) or from the line's position. */
  cpuFromLine: boolean;
}

const HEX_LINE = /^[0-9a-fA-F]{1,16}(?:\s+[0-9a-fA-F]{1,16})*$/;

export function parseSoftnet(text: string): Map<number, SoftnetCpu> {
  const out = new Map<number, SoftnetCpu>();
  let index = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (!HEX_LINE.test(line)) continue;
    const f = line.split(/\s+/).map((h) => Number.parseInt(h, 16));
    const position = index++;
    if (f.length < 3) continue; // not a line any kernel printed
    const cpuFromLine = f.length >= 13;
    const cpu = cpuFromLine ? (f[12] as number) : position;
    out.set(cpu, {
      processed: f[0] as number,
      dropped: f[1] as number,
      timeSqueeze: f[2] as number,
      receivedRps: f[9] ?? 0,
      flowLimitCount: f[10] ?? 0,
      backlogLen: f.length >= 12 ? (f[11] as number) : null,
      cpuFromLine,
    });
  }
  return out;
}
