/**
 * V8 settings for the processes that observe for days at one sample a second (`napilab top` and
 * `napilab exporter`), applied when such a command starts. Each one is here because it measurably
 * lowered the whole process' CPU time (npm run bench:observe, end to end; docs/commands/observe.md,
 * "Cost"). Only flags V8 reads as it goes can be set this late: --no-memory-reducer, tried too,
 * did not stop the one-off full collections V8's memory reducer runs in the first minute (it arms
 * itself during start-up), so it is not set.
 */
import { setFlagsFromString } from "node:v8";
import { parseCpuStat } from "./parse-cpu-stat.js";
import { readProcText } from "./proc-files.js";

/** Hosts with at most this many CPUs are observed without V8's optimising compiler (below). */
export const SMALL_HOST_CPUS = 4;

/** The number of CPUs a /proc tree lists (the host's, or a fixture's); 0 when unreadable. */
export function observedCpuCount(procRoot = "/proc"): number {
  return parseCpuStat(readProcText(`${procRoot}/stat`) ?? "").size;
}

export function tuneForLongRunning(observedCpus: number): void {
  // TurboFan: code that runs a few hundred microseconds once a second reaches its thresholds only
  // slowly, so functions keep being compiled (5-60 ms each, on a background thread) through the
  // first minutes, and on a small host the optimised code saved nothing measurable per sample
  // (0.4 ms either way on 2 CPUs); without it the whole exporter used 1.2 ms/s less over 10-70 s
  // and 0.35 ms/s less over 70-190 s (side by side, 2-vCPU VM). A large host keeps it: 64 NAPIs x
  // 64 CPUs took 3.5 ms per scrape optimised and 7 ms without.
  setFlagsFromString(observedCpus > 0 && observedCpus <= SMALL_HOST_CPUS ? "--no-opt" : "--opt");
}
