/**
 * V8 settings for the processes that observe for days at one sample a second (`napilab top` and
 * `napilab exporter`), applied when such a command starts. Each one is here because it measurably
 * lowered the whole process' CPU time (npm run bench:observe, end to end); see
 * docs/commands/observe.md, "Cost".
 */
import { setFlagsFromString } from "node:v8";

export function tuneForLongRunning(): void {
  // V8's memory reducer starts full (mark-compact) collections once allocation goes quiet, to give
  // memory back to the system. At ~200 KB of garbage a second on a heap of a few MB there is nothing
  // to give back, yet it ran 2-3 full collections (10-60 ms of CPU each) some 40 s after start,
  // most of a minute's CPU budget. Young-generation and allocation-driven full GCs still run.
  setFlagsFromString("--no-memory-reducer");
}
