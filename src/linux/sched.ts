/**
 * CPU affinity and scheduling class of a task (a NAPI kthread, a receiver): sched_setaffinity /
 * sched_getaffinity and sched_setattr / sched_getattr (kernel/sched/syscalls.c). Every setter
 * reads the value back from the kernel and returns what the kernel now holds.
 *
 * Stable exports (used by src/bench): setAffinity, getAffinity, setSchedPolicy, getSchedPolicy.
 */
import { HostError, InputError } from "../core/errors.js";
import { formatCpuList, formatDuration } from "../core/units.js";
import { validateSchedPolicy } from "../core/vocabulary.js";
import { hasCap } from "./caps.js";
import { CPUSET_BYTES, checkCpusOnline, cpusToMask, maskToCpus } from "./cpus.js";
import { lastErrno, libc, SysError, sysSchedGetattr, sysSchedSetattr } from "./libc.js";
import type { HostSchedPolicy } from "./types.js";

/** Kernel policy numbers (include/uapi/linux/sched.h). */
const SCHED = { OTHER: 0, FIFO: 1, RR: 2, BATCH: 3, IDLE: 5, DEADLINE: 6 } as const;
/** struct sched_attr, SCHED_ATTR_SIZE_VER1 (with util clamps). */
const SCHED_ATTR_SIZE = 56;

function taskError(pid: number, what: string, err: number, extra = ""): HostError {
  const code = new SysError("", err).code;
  if (code === "ESRCH")
    return new HostError(`${what}: thread ${pid} no longer exists (its NAPI or device went away)`);
  if (code === "EPERM" && !hasCap("CAP_SYS_NICE"))
    return new HostError(`${what}: needs CAP_SYS_NICE (run napilab as root)`);
  return new HostError(`${what}: kernel refused (${code})${extra}`);
}

/** The CPUs a task may run on (sched_getaffinity). */
export function getAffinity(pid: number): number[] {
  const mask = Buffer.alloc(CPUSET_BYTES);
  if (libc.sched_getaffinity(pid, CPUSET_BYTES, mask) < 0)
    throw taskError(pid, `reading the CPU affinity of ${pid}`, lastErrno());
  return maskToCpus(mask);
}

/**
 * Pin a task to CPUs (sched_setaffinity) after checking they are online; returns the affinity
 * read back. Some kthreads refuse (PF_NO_SETAFFINITY: EINVAL), reported as a HostError.
 */
export function setAffinity(pid: number, cpus: readonly number[]): number[] {
  checkCpusOnline(cpus);
  const what = `pinning thread ${pid} to CPUs ${formatCpuList(cpus)}`;
  if (libc.sched_setaffinity(pid, CPUSET_BYTES, cpusToMask(cpus)) < 0) {
    const e = lastErrno();
    const hint =
      new SysError("", e).code === "EINVAL"
        ? ": the thread does not accept affinity changes, or none of the CPUs may run it"
        : new SysError("", e).code === "EBUSY"
          ? ": a SCHED_DEADLINE thread must keep all CPUs of its root domain"
          : "";
    throw taskError(pid, what, e, hint);
  }
  return getAffinity(pid);
}

/** The scheduling class names the host accepts, with the kernel's SCHED_* aliases. */
export const HOST_SCHED_POLICIES = ["other", "batch", "idle", "fifo", "rr", "deadline"] as const;
export type HostSchedPolicyName = (typeof HOST_SCHED_POLICIES)[number];

/** Parse a class name (other|normal, batch, idle, fifo, rr, deadline; SCHED_ prefix allowed). */
export function parseHostSchedPolicyName(text: string): HostSchedPolicyName {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/^sched_/, "");
  const name = t === "normal" ? "other" : t;
  if ((HOST_SCHED_POLICIES as readonly string[]).includes(name)) return name as HostSchedPolicyName;
  throw new InputError(`invalid scheduling policy '${text}': use ${HOST_SCHED_POLICIES.join(", ")}`);
}

/** Check a host class against the kernel's bounds (`__checkparam_dl`, nice -20..19, RT 1..99). */
export function validateHostSchedPolicy(p: HostSchedPolicy): HostSchedPolicy {
  if (p.policy === "idle") return p;
  if (p.policy === "batch") {
    validateSchedPolicy({ policy: "other", nice: p.nice });
    return p;
  }
  return validateSchedPolicy(p);
}

/** "other nice 0", "batch nice 5", "idle", "fifo 10", "deadline 200us/1ms/1ms". */
export function formatSchedPolicy(p: HostSchedPolicy | null): string {
  if (p === null) return "-";
  switch (p.policy) {
    case "other":
    case "batch":
      return `${p.policy} nice ${p.nice}`;
    case "idle":
      return "idle";
    case "fifo":
    case "rr":
      return `${p.policy} ${p.priority}`;
    case "deadline":
      return `deadline ${formatDuration(p.runtimeNs)}/${formatDuration(p.deadlineNs)}/${formatDuration(p.periodNs)}`;
  }
}

/** Two classes are the same setting (what a read-back is compared with). */
export function samePolicy(a: HostSchedPolicy, b: HostSchedPolicy): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function encodeAttr(p: HostSchedPolicy): Buffer {
  const b = Buffer.alloc(SCHED_ATTR_SIZE);
  b.writeUInt32LE(SCHED_ATTR_SIZE, 0);
  switch (p.policy) {
    case "other":
    case "batch":
      b.writeUInt32LE(p.policy === "other" ? SCHED.OTHER : SCHED.BATCH, 4);
      b.writeInt32LE(p.nice, 16);
      break;
    case "idle":
      b.writeUInt32LE(SCHED.IDLE, 4);
      break;
    case "fifo":
    case "rr":
      b.writeUInt32LE(p.policy === "fifo" ? SCHED.FIFO : SCHED.RR, 4);
      b.writeUInt32LE(p.priority, 20);
      break;
    case "deadline":
      b.writeUInt32LE(SCHED.DEADLINE, 4);
      b.writeBigUInt64LE(BigInt(p.runtimeNs), 24);
      b.writeBigUInt64LE(BigInt(p.deadlineNs), 32);
      b.writeBigUInt64LE(BigInt(p.periodNs), 40);
      break;
  }
  return b;
}

/** The scheduling class of a task (sched_getattr), each class under its own name. */
export function getSchedPolicy(pid: number): HostSchedPolicy {
  const b = Buffer.alloc(SCHED_ATTR_SIZE);
  if (sysSchedGetattr(pid, b) < 0)
    throw taskError(pid, `reading the scheduling class of ${pid}`, lastErrno());
  const policy = b.readUInt32LE(4);
  switch (policy) {
    case SCHED.FIFO:
      return { policy: "fifo", priority: b.readUInt32LE(20) };
    case SCHED.RR:
      return { policy: "rr", priority: b.readUInt32LE(20) };
    case SCHED.DEADLINE:
      return {
        policy: "deadline",
        runtimeNs: Number(b.readBigUInt64LE(24)),
        deadlineNs: Number(b.readBigUInt64LE(32)),
        periodNs: Number(b.readBigUInt64LE(40)),
      };
    case SCHED.BATCH:
      return { policy: "batch", nice: b.readInt32LE(16) };
    case SCHED.IDLE:
      return { policy: "idle" };
    case SCHED.OTHER:
      return { policy: "other", nice: b.readInt32LE(16) };
    default:
      throw new HostError(`thread ${pid} has scheduling policy ${policy}, which napilab does not know`);
  }
}

/**
 * Give a task a scheduling class (sched_setattr) and return what the kernel reports afterwards.
 * A deadline reservation the admission test refuses (`sched_dl_overflow`) is a HostError.
 */
export function setSchedPolicy(pid: number, policy: HostSchedPolicy): HostSchedPolicy {
  validateHostSchedPolicy(policy);
  const what = `setting ${policy.policy} scheduling on thread ${pid}`;
  if (sysSchedSetattr(pid, encodeAttr(policy)) < 0) {
    const e = lastErrno();
    const code = new SysError("", e).code;
    let hint = "";
    if (policy.policy === "deadline" && code === "EBUSY")
      hint =
        ": the deadline reservation exceeds the CPU bandwidth left for SCHED_DEADLINE (kernel.sched_rt_runtime_us)";
    else if (policy.policy === "deadline" && code === "EPERM" && hasCap("CAP_SYS_NICE"))
      hint = ": SCHED_DEADLINE needs the thread's CPU affinity to cover all CPUs of its root domain";
    else if (code === "EINVAL") hint = ": parameters out of range for this kernel";
    throw taskError(pid, what, e, hint);
  }
  return getSchedPolicy(pid);
}
