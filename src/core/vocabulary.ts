/**
 * The shared vocabulary of napilab's four pillars. The model, the host control code, the
 * benchmark and the observers all speak of devices, NAPI instances, NAPI modes and kthread
 * policies in these terms, so a result from one can be fed to another.
 */
import { InputError } from "./errors.js";

/**
 * Where a NAPI instance's poll loop runs. Mirrors the kernel's `threaded` attribute of napi-set
 * (netdev netlink): disabled = softirq (NET_RX_SOFTIRQ), enabled = a napi/<dev>-<id> kthread,
 * busy-poll = the kthread busy polls instead of sleeping between polls.
 */
export const NAPI_MODES = ["softirq", "threaded", "busy-poll"] as const;
export type NapiMode = (typeof NAPI_MODES)[number];

/** The kernel's own names for the modes in netlink (`napi-threaded` enum) and sysfs. */
export const KERNEL_THREADED_NAMES = ["disabled", "enabled", "busy-poll"] as const;
export type KernelThreaded = (typeof KERNEL_THREADED_NAMES)[number];

export function napiModeFromKernel(value: KernelThreaded): NapiMode {
  return value === "disabled" ? "softirq" : value === "enabled" ? "threaded" : "busy-poll";
}

export function napiModeToKernel(mode: NapiMode): KernelThreaded {
  return mode === "softirq" ? "disabled" : mode === "threaded" ? "enabled" : "busy-poll";
}

export function parseNapiMode(text: string): NapiMode {
  const t = text.trim().toLowerCase();
  if ((NAPI_MODES as readonly string[]).includes(t)) return t as NapiMode;
  if ((KERNEL_THREADED_NAMES as readonly string[]).includes(t))
    return napiModeFromKernel(t as KernelThreaded);
  throw new InputError(`invalid NAPI mode '${text}': use softirq, threaded or busy-poll`);
}

/** Scheduling classes a kthread or task can be given (sched_setattr policies). */
export const SCHED_POLICIES = ["other", "fifo", "rr", "deadline"] as const;
export type SchedPolicyName = (typeof SCHED_POLICIES)[number];

/**
 * How a task (a NAPI kthread, a receiver, a vCPU) is scheduled. Times are integer nanoseconds,
 * as in struct sched_attr.
 */
export type SchedPolicy =
  | { policy: "other"; nice: number }
  | { policy: "fifo" | "rr"; priority: number }
  | { policy: "deadline"; runtimeNs: number; deadlineNs: number; periodNs: number };

export function parseSchedPolicyName(text: string): SchedPolicyName {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/^sched_/, "");
  const alias: Record<string, SchedPolicyName> = { normal: "other", batch: "other" };
  const name = alias[t] ?? t;
  if ((SCHED_POLICIES as readonly string[]).includes(name)) return name as SchedPolicyName;
  throw new InputError(`invalid scheduling policy '${text}': use other, fifo, rr or deadline`);
}

/** A kthread policy: the scheduling class plus the CPUs it may run on (undefined = all). */
export interface KthreadPolicy {
  sched: SchedPolicy;
  cpus?: number[];
}

/** Validate a SchedPolicy against the kernel's bounds (nice -20..19, RT priority 1..99, dl ordering). */
export function validateSchedPolicy(p: SchedPolicy): SchedPolicy {
  switch (p.policy) {
    case "other":
      if (!Number.isInteger(p.nice) || p.nice < -20 || p.nice > 19)
        throw new InputError(`invalid nice ${p.nice}: must be -20 to 19`);
      return p;
    case "fifo":
    case "rr":
      if (!Number.isInteger(p.priority) || p.priority < 1 || p.priority > 99)
        throw new InputError(`invalid real-time priority ${p.priority}: must be 1 to 99`);
      return p;
    case "deadline":
      // sched_dl_overflow/__checkparam_dl: runtime <= deadline <= period, runtime >= 1us granularity.
      if (p.runtimeNs < 1024) throw new InputError("invalid deadline runtime: must be at least 1.024us");
      if (p.runtimeNs > p.deadlineNs)
        throw new InputError("invalid deadline reservation: runtime must not exceed deadline");
      if (p.deadlineNs > p.periodNs)
        throw new InputError("invalid deadline reservation: deadline must not exceed period");
      return p;
  }
}

/** A network device on a real host or in the model. */
export interface DeviceRef {
  ifname: string;
  ifindex?: number;
  netns?: string;
}

/**
 * One NAPI instance: the unit of rx polling. On a real host `id` is the kernel's NAPI id
 * (changes when the driver recreates the instance); `queue` is the stable rx queue index.
 */
export interface NapiRef {
  device: DeviceRef;
  id: number;
  queue?: number;
}
