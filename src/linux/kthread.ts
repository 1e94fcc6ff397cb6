/**
 * What /proc says about a NAPI kthread: its name (comm, `napi/<dev>-<napi_id>` as set by
 * `napi_kthread_create`), CPU time used (/proc/<pid>/schedstat, field 1: ns on CPU) and
 * allowed CPUs (/proc/<pid>/status Cpus_allowed_list).
 */
import { readFileSync } from "node:fs";
import { parseCpuList } from "../core/units.js";

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined; // the thread exited meanwhile
  }
}

/** comm of a task, or undefined when it is gone. */
export function threadName(pid: number): string | undefined {
  return readProc(pid, "comm")?.trim();
}

/** Time the task has run on a CPU, in ns (schedstat's se.sum_exec_runtime). */
export function threadCpuTimeNs(pid: number): number | undefined {
  const s = readProc(pid, "schedstat");
  if (s === undefined) return undefined;
  const v = Number(s.trim().split(/\s+/)[0]);
  return Number.isFinite(v) ? v : undefined;
}

/** Cpus_allowed_list of a task from /proc/<pid>/status. */
export function threadCpusAllowed(pid: number): number[] | undefined {
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readProc(pid, "status") ?? "");
  return m?.[1] ? parseCpuList(m[1]) : undefined;
}

/** The kthread name the kernel gives a NAPI instance's thread. */
export function napiThreadName(ifname: string, napiId: number): string {
  return `napi/${ifname}-${napiId}`;
}
