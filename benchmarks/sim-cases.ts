/**
 * The model cases bench:sim and bench:sim:ab both measure, as plain data (no model import, so a
 * benchmark can run them on whichever build it loaded): the 2-CPU flood (2 Mpps, 25 flows, 64 B),
 * the large host (32 CPUs, 16 queues, 1000 flows, 10 Mpps), and the 90 seed cells of `napilab
 * reproduce`.
 */
export type SimMode = "softirq" | "threaded" | "busy-poll";

/** runFlood's options for one case, less the profile. */
export function floodCase(mode: SimMode, durationNs: number, large: boolean) {
  return {
    cpus: large ? 32 : 2,
    queues: large ? 16 : undefined,
    mode,
    ratePps: large ? 10e6 : 2e6,
    size: 64,
    flows: large ? 1000 : 25,
    durationNs,
    warmupNs: 10e6,
  };
}

/** The seed's table: every size x flow count x configuration (90 cells). */
export function seedCells<C>(configs: readonly C[]): { size: number; flows: number; config: C }[] {
  const cells: { size: number; flows: number; config: C }[] = [];
  for (const size of [1, 64, 256, 1438, 4096, 64000])
    for (const flows of [1, 25, 50, 100, 200])
      for (const config of configs) cells.push({ size, flows, config });
  return cells;
}
