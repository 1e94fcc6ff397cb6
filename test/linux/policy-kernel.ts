/**
 * What the kernel itself says about NAPIs and kthreads, for the policy tests: napi-get (the
 * kernel's netlink answer: ids, pids, threaded), /proc/PID/status Cpus_allowed_list (the mask
 * sched_getaffinity returns) and /proc/PID/stat policy, rt_priority and nice (what
 * sched_getscheduler/sched_getparam return). None of it goes through napilab's read-back.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { libc, NetdevClient, withNetns } from "../../src/linux/index.js";

export interface KernelNapi {
  id: number;
  pid: number | null;
  threaded: string | undefined;
}

/** napi-get of one device, ordered by NAPI id (= queue order on veth). */
export function kernelNapis(ns: string, ifname: string): KernelNapi[] {
  return withNetns(ns, () => {
    const ifindex = libc.if_nametoindex(ifname);
    if (ifindex === 0) return [];
    const c = new NetdevClient();
    try {
      return c
        .dumpNapi(ifindex)
        .filter((n) => n.ifindex === ifindex)
        .sort((a, b) => a.id - b.id)
        .map((n) => ({ id: n.id, pid: n.pid, threaded: n.threaded }));
    } finally {
      c.close();
    }
  });
}

export function cpusAllowed(pid: number): string {
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m?.[1] ?? "?";
}

const POLICY_NAMES = ["other", "fifo", "rr", "batch", "?", "idle", "deadline"];

/** "fifo 10", "other nice -5", "batch nice 0", "idle", "deadline" from /proc/PID/stat. */
export function kernelSched(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields after comm start at field 3: nice is field 19, rt_priority 40, policy 41
  const nice = Number(f[16]);
  const rtprio = Number(f[37]);
  const policy = POLICY_NAMES[Number(f[38])] ?? "?";
  if (policy === "fifo" || policy === "rr") return `${policy} ${rtprio}`;
  if (policy === "other" || policy === "batch") return `${policy} nice ${nice}`;
  return policy;
}

export function sysfsThreaded(ns: string, dev: string): string {
  return execFileSync("ip", ["netns", "exec", ns, "cat", `/sys/class/net/${dev}/threaded`], {
    encoding: "utf8",
  }).trim();
}

/** Poll `check` until it returns undefined (matches) or the deadline passes; returns the last mismatch. */
export async function eventually(
  check: () => string | undefined,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  const end = Date.now() + timeoutMs;
  let last = check();
  while (last !== undefined && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 25));
    last = check();
  }
  return last;
}
