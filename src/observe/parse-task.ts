/**
 * Per-task files of /proc/<pid>: stat (kernel `do_task_stat`), schedstat (`proc_pid_schedstat`)
 * and status (`proc_pid_status`). Together they say how much CPU a NAPI kthread or a ksoftirqd
 * used, how long it waited on a run queue, how often it was switched, where it last ran and where
 * it may run.
 */
import { parseCpuList } from "../core/units.js";
import { USER_HZ } from "./parse-cpu-stat.js";

const NS_PER_TICK = 1_000_000_000 / USER_HZ;

export interface TaskStat {
  comm: string;
  state: string;
  /** utime + stime, in ns (USER_HZ resolution). */
  cpuTicksNs: number;
  /** Field 39 `processor`: the CPU the task last ran on. */
  lastCpu: number;
  /** Field 40 rt_priority and field 41 policy (SCHED_* number). */
  rtPriority: number;
  policy: number;
}

/**
 * Parse /proc/<pid>/stat. The comm (field 2) is in parentheses and may itself contain spaces and
 * parentheses, so fields are counted from the last ')'.
 */
export function parseTaskStat(text: string): TaskStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3]
  const num = (field: number) => {
    const v = Number(rest[field - 3]);
    return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  };
  const utime = num(14);
  const stime = num(15);
  const lastCpu = num(39);
  const state = rest[0];
  if (utime === undefined || stime === undefined || lastCpu === undefined || state === undefined)
    return undefined;
  if (!/^[A-Za-z]$/.test(state)) return undefined;
  return {
    comm: text.slice(open + 1, close),
    state,
    cpuTicksNs: (utime + stime) * NS_PER_TICK,
    lastCpu,
    rtPriority: num(40) ?? 0,
    policy: num(41) ?? 0,
  };
}

/** /proc/<pid>/schedstat: ns on a CPU (sum_exec_runtime), ns waiting on a run queue, slices run. */
export interface TaskSchedstat {
  runNs: number;
  waitNs: number;
  slices: number;
}

export function parseTaskSchedstat(text: string): TaskSchedstat | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const [runNs, waitNs, slices] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  if (![runNs, waitNs, slices].every(Number.isSafeInteger)) return undefined;
  return { runNs, waitNs, slices };
}

/** What observe needs from /proc/<pid>/status. */
export interface TaskStatus {
  cpusAllowed: number[] | null;
  voluntarySwitches: number;
  involuntarySwitches: number;
}

export function parseTaskStatus(text: string): TaskStatus {
  const field = (key: string) => new RegExp(`^${key}:[ \\t]*(\\S*)[ \\t]*$`, "m").exec(text)?.[1];
  const count = (key: string) => {
    const v = Number(field(key));
    return Number.isSafeInteger(v) && v >= 0 ? v : 0;
  };
  let cpusAllowed: number[] | null = null;
  const list = field("Cpus_allowed_list");
  if (list)
    try {
      cpusAllowed = parseCpuList(list);
    } catch {
      cpusAllowed = null; // not a list we can read; report it as unknown
    }
  return {
    cpusAllowed,
    voluntarySwitches: count("voluntary_ctxt_switches"),
    involuntarySwitches: count("nonvoluntary_ctxt_switches"),
  };
}
