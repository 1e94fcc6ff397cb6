/**
 * napilab's real benchmark: its own namespaces and veth pair, its own UDP flood generator and
 * netserver-style receivers, each NAPI mode set up through src/linux, and the cell figures read
 * from /proc.
 */

export { type Calibration, type CellComparison, calibrate, fitLinear } from "./calibrate.js";
export type { CellMeasure, CpuSplit, NapiThreadStats, TaskTime } from "./measure.js";
export { BENCH_MODES, type BenchMode, busyPollSupported, type ModeSetup, parseBenchMode } from "./modes.js";
export { type BenchOptions, MAX_UDP_PAYLOAD, RECEIVERS_PER_CPU, validateBenchOptions } from "./options.js";
export { checkResultPath, defaultResultPath, loadResult, saveResult } from "./result.js";
export { type BenchResult, type Cell, RunAborted, runBench } from "./run.js";
export { type CleanupReport, cleanupLeftovers, namespacesOf, recordedRuns, stateDir } from "./topology.js";
export { ThreadGroup } from "./traffic.js";
