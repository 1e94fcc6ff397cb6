/**
 * NAPI instances of a real host, end to end: list them with their kthreads, switch threaded
 * mode, pin and prioritise their kthreads. Every change validates all targets first, applies
 * them one by one, restores what it already changed if a later step fails, and reads the result
 * back from the kernel.
 *
 * Stable exports (used by src/bench, src/observe and the CLI): listNapi, kernelCaps,
 * setThreaded, pinNapi, schedNapi, parseNapiTarget.
 */
import { HostError, InputError, UserError } from "../core/errors.js";
import {
  KERNEL_THREADED_NAMES,
  type KernelThreaded,
  type NapiMode,
  napiModeFromKernel,
  napiModeToKernel,
  parseNapiMode,
  type SchedPolicy,
  validateSchedPolicy,
} from "../core/vocabulary.js";
import { type CapName, requireCaps } from "./caps.js";
import { checkCpusOnline } from "./cpus.js";
import { threadCpuTimeNs, threadName } from "./kthread.js";
import { libc, SysError } from "./libc.js";
import { NetdevClient, type RawNapi } from "./netdev.js";
import { isCurrentNetns, withNetns } from "./netns.js";
import { getAffinity, getSchedPolicy, setAffinity, setSchedPolicy } from "./sched.js";
import { readDeviceThreaded, withSysfs, writeDeviceThreaded } from "./sysfs.js";
import { applyAll, type Step } from "./transaction.js";
import type { KernelCaps, NapiInfo, NapiTarget, NetnsOptions } from "./types.js";

/** Parse `DEV` or `DEV/NAPI_ID` into a target. */
export function parseNapiTarget(text: string): NapiTarget {
  const m = /^([^/\s]{1,15})(?:\/(\d+))?$/.exec(text.trim());
  if (!m?.[1])
    throw new InputError(`invalid target '${text}': expected DEV or DEV/NAPI_ID, e.g. eth0 or eth0/8193`);
  return m[2] === undefined ? { ifname: m[1] } : { ifname: m[1], id: Number(m[2]) };
}

function toTargets(t: string | NapiTarget | readonly (string | NapiTarget)[]): NapiTarget[] {
  const list = Array.isArray(t) ? t : [t];
  if (list.length === 0) throw new InputError("no target given");
  return list.map((x: string | NapiTarget) => (typeof x === "string" ? parseNapiTarget(x) : x));
}

function ifName(ifindex: number): string {
  const buf = Buffer.alloc(16);
  const r = libc.if_indextoname(ifindex, buf);
  if (r === null) return `if${ifindex}`;
  const nul = buf.indexOf(0);
  return buf.toString("utf8", 0, nul === -1 ? buf.length : nul);
}

function describeNetns(netns: string | undefined): string {
  return netns === undefined ? "" : ` in network namespace '${netns}'`;
}

/** Fill in the kthread's name, CPUs, class and CPU time; tolerate a thread exiting meanwhile. */
function enrich(raw: RawNapi, ifname: string, netns: string | undefined): NapiInfo {
  const threaded: KernelThreaded = raw.threaded ?? (raw.pid !== null ? "enabled" : "disabled");
  const info: NapiInfo = {
    ifname,
    ifindex: raw.ifindex,
    id: raw.id,
    irq: raw.irq,
    threaded,
    mode: napiModeFromKernel(threaded),
    pid: raw.pid,
    kthread: null,
    cpus: null,
    policy: null,
    cpuTimeNs: null,
  };
  if (raw.deferHardIrqs !== undefined) info.deferHardIrqs = raw.deferHardIrqs;
  if (raw.groFlushTimeoutNs !== undefined) info.groFlushTimeoutNs = raw.groFlushTimeoutNs;
  if (raw.irqSuspendTimeoutNs !== undefined) info.irqSuspendTimeoutNs = raw.irqSuspendTimeoutNs;
  if (netns !== undefined) info.netns = netns;
  if (raw.pid !== null) {
    const pid = raw.pid;
    info.kthread = threadName(pid) ?? null;
    info.cpuTimeNs = threadCpuTimeNs(pid) ?? null;
    try {
      info.cpus = getAffinity(pid);
      info.policy = getSchedPolicy(pid);
    } catch (err) {
      if (!(err instanceof UserError)) throw err; // the thread exited between dump and read
    }
  }
  return info;
}

/** A device resolved inside its namespace, with its NAPI instances. */
interface ResolvedDevice {
  ifname: string;
  ifindex: number;
  napis: RawNapi[];
}

function resolveIfindex(ifname: string, netns: string | undefined): number {
  if (!/^[^/\s]{1,15}$/.test(ifname)) throw new InputError(`invalid device name '${ifname}'`);
  const idx = libc.if_nametoindex(ifname);
  if (idx === 0) throw new InputError(`no device '${ifname}'${describeNetns(netns)}`);
  return idx;
}

function noNapiError(ifname: string, netns: string | undefined): HostError {
  return new HostError(
    `device '${ifname}'${describeNetns(netns)} has no NAPI instances (for veth, turn GRO or XDP on: ethtool -K ${ifname} gro on)`,
  );
}

/** Must run inside the namespace: resolves names, dumps NAPIs, checks every target exists. */
function resolveTargets(
  client: NetdevClient,
  targets: NapiTarget[],
  netns: string | undefined,
): ResolvedDevice[] {
  const byDev = new Map<string, ResolvedDevice>();
  for (const t of targets) {
    let dev = byDev.get(t.ifname);
    if (!dev) {
      const ifindex = resolveIfindex(t.ifname, netns);
      const all = client.dumpNapi(ifindex).filter((n) => n.ifindex === ifindex);
      if (all.length === 0) throw noNapiError(t.ifname, netns);
      dev = { ifname: t.ifname, ifindex, napis: [] };
      byDev.set(t.ifname, dev);
      (dev as ResolvedDevice & { all: RawNapi[] }).all = all;
    }
    const all = (dev as ResolvedDevice & { all: RawNapi[] }).all;
    const chosen = t.id === undefined ? all : all.filter((n) => n.id === t.id);
    if (chosen.length === 0)
      throw new InputError(
        `device '${t.ifname}' has no NAPI id ${t.id} (it has ${all.map((n) => n.id).join(", ")})`,
      );
    for (const n of chosen) if (!dev.napis.some((x) => x.id === n.id)) dev.napis.push(n);
  }
  return [...byDev.values()];
}

/** Run fn with a netdev session inside the namespace; kernel errors become one-line HostErrors. */
function withClient<T>(netns: string | undefined, fn: (c: NetdevClient) => T): T {
  try {
    return withNetns(netns, () => {
      const c = new NetdevClient();
      try {
        return fn(c);
      } finally {
        c.close();
      }
    });
  } catch (err) {
    if (err instanceof SysError) throw new HostError(err.message);
    throw err;
  }
}

/** List NAPI instances (all, or one device's) with their kthreads, in our namespace or a named one. */
export function listNapi(opts: NetnsOptions & { ifname?: string } = {}): NapiInfo[] {
  const raws = withClient(opts.netns, (c) => {
    const ifindex = opts.ifname === undefined ? undefined : resolveIfindex(opts.ifname, opts.netns);
    const list = c.dumpNapi(ifindex).filter((n) => ifindex === undefined || n.ifindex === ifindex);
    if (opts.ifname !== undefined && list.length === 0) throw noNapiError(opts.ifname, opts.netns);
    const queues = c.dumpQueues(ifindex);
    return list.map((n) => ({ raw: n, ifname: ifName(n.ifindex), queues: queues.get(n.id) }));
  });
  return raws
    .map(({ raw, ifname, queues }) => {
      const info = enrich(raw, ifname, opts.netns);
      if (queues) {
        info.rxQueues = queues.rx.sort((a, b) => a - b);
        info.txQueues = queues.tx.sort((a, b) => a - b);
      }
      return info;
    })
    .sort((a, b) => a.ifindex - b.ifindex || a.id - b.id);
}

/** What the kernel of the namespace supports (netdev family, napi-get/set, threaded, busy-poll). */
export function kernelCaps(opts: NetnsOptions = {}): KernelCaps {
  return withClient(opts.netns, (c) => c.caps());
}

/** One change as reported: the instance before and after (read back from the kernel). */
export interface NapiChange {
  before: NapiInfo;
  after: NapiInfo;
}

function capsFor(base: CapName[], netns: string | undefined): CapName[] {
  return netns !== undefined && !isCurrentNetns(netns) ? [...base, "CAP_SYS_ADMIN"] : base;
}

function key(n: { ifindex: number; id: number }): string {
  return `${n.ifindex}/${n.id}`;
}

function readBack(devices: ResolvedDevice[], netns: string | undefined): Map<string, NapiInfo> {
  const out = new Map<string, NapiInfo>();
  for (const d of devices) for (const n of listNapi({ netns, ifname: d.ifname })) out.set(key(n), n);
  return out;
}

export interface SetThreadedOptions extends NetnsOptions {
  /** How to apply: per NAPI through netlink, per device through sysfs, or auto (netlink if the kernel can). */
  via?: "auto" | "netlink" | "sysfs";
}

/**
 * Switch threaded mode (disabled/enabled/busy-poll, or softirq/threaded/busy-poll) on targets
 * (`DEV` = every NAPI of the device, `DEV/ID` = one). Returns each instance before and after.
 */
export function setThreaded(
  target: string | NapiTarget | readonly (string | NapiTarget)[],
  mode: KernelThreaded | NapiMode,
  opts: SetThreadedOptions = {},
): NapiChange[] {
  const wanted: KernelThreaded = (KERNEL_THREADED_NAMES as readonly string[]).includes(mode)
    ? (mode as KernelThreaded)
    : napiModeToKernel(parseNapiMode(mode));
  const targets = toTargets(target);
  const netns = opts.netns;
  requireCaps(capsFor(["CAP_NET_ADMIN"], netns), "napi set");
  const run = (sysfs: string | undefined): NapiChange[] => {
    const { devices, caps } = withClient(netns, (c) => ({
      devices: resolveTargets(c, targets, netns),
      caps: c.caps(),
    }));
    const via = opts.via === undefined || opts.via === "auto" ? caps.deviceControl : opts.via;
    if (wanted === "busy-poll" && !caps.busyPoll)
      throw new HostError(
        `this kernel (${caps.kernel}) does not support threaded busy-poll (it accepts disabled and enabled)`,
      );
    if (via === "netlink" && !caps.napiSetThreaded)
      throw new HostError(
        `this kernel (${caps.kernel}) has no per-NAPI threaded control (netlink napi-set threaded); use --via sysfs on whole devices`,
      );
    const current = readBack(devices, netns);
    const before = new Map<string, NapiInfo>();
    for (const d of devices)
      for (const n of d.napis) before.set(key(n), current.get(key(n)) ?? enrich(n, d.ifname, netns));
    const steps: Step[] = [];
    if (via === "sysfs") {
      const root = sysfs as string;
      for (const d of devices) {
        const whole = targets.filter((t) => t.ifname === d.ifname).some((t) => t.id === undefined);
        if (!whole)
          throw new InputError(
            `per-NAPI targets like ${d.ifname}/${d.napis[0]?.id} need netlink control; sysfs switches whole devices (target ${d.ifname})`,
          );
        const prev = readDeviceThreaded(root, d.ifname);
        steps.push({
          run: () => writeDeviceThreaded(root, d.ifname, wanted),
          undo: () => writeDeviceThreaded(root, d.ifname, prev),
        });
      }
    } else {
      for (const d of devices)
        for (const n of d.napis) {
          const prev = before.get(key(n))?.threaded ?? "disabled";
          steps.push({
            run: () => withClient(netns, (c) => c.setNapiThreaded(n.id, wanted)),
            undo: () => withClient(netns, (c) => c.setNapiThreaded(n.id, prev)),
          });
        }
    }
    const changes: NapiChange[] = [];
    // the read-back is the last step: a mismatch undoes the whole change like a failed write
    steps.push({
      run: () => {
        const after = readBack(devices, netns);
        for (const [k, b] of before) {
          const a = after.get(k);
          if (!a) throw new HostError(`NAPI ${b.ifname}/${b.id} vanished while switching it (device reset?)`);
          if (a.threaded !== wanted)
            throw new HostError(
              `kernel reports ${b.ifname}/${b.id} as ${a.threaded} after setting ${wanted}`,
            );
          changes.push({ before: b, after: a });
        }
      },
      undo: () => {},
    });
    applyAll(steps);
    return changes.sort((x, y) => x.after.ifindex - y.after.ifindex || x.after.id - y.after.id);
  };
  const wantsSysfs = opts.via === "sysfs";
  if (wantsSysfs) return withSysfs(netns, (root) => run(root));
  if (opts.via === undefined || opts.via === "auto") {
    const caps = kernelCaps({ netns });
    if (caps.deviceControl === "sysfs") return withSysfs(netns, (root) => run(root));
  }
  return run(undefined);
}

/** Resolve targets to threaded instances; a target in softirq mode has no kthread to act on. */
function threadedTargets(
  targets: NapiTarget[],
  netns: string | undefined,
): { devices: ResolvedDevice[]; before: NapiInfo[] } {
  const devices = withClient(netns, (c) => resolveTargets(c, targets, netns));
  const current = readBack(devices, netns);
  const before: NapiInfo[] = [];
  for (const d of devices.sort((x, y) => x.ifindex - y.ifindex)) d.napis.sort((x, y) => x.id - y.id);
  for (const d of devices)
    for (const n of d.napis) {
      const info = current.get(key(n)) ?? enrich(n, d.ifname, netns);
      if (info.pid === null)
        throw new InputError(
          `${d.ifname}/${n.id} runs in softirq context and has no kthread: switch it first (napilab napi set ${d.ifname} --threaded enabled)`,
        );
      before.push(info);
    }
  return { devices, before };
}

function reportChanges(
  devices: ResolvedDevice[],
  before: NapiInfo[],
  netns: string | undefined,
): NapiChange[] {
  const after = readBack(devices, netns);
  return before.map((b) => {
    const a = after.get(key(b));
    if (!a) throw new HostError(`NAPI ${b.ifname}/${b.id} vanished during the change (device reset?)`);
    return { before: b, after: a };
  });
}

/** Pin the kthreads of the targets to CPUs; restores earlier affinities if one fails. */
export function pinNapi(
  target: string | NapiTarget | readonly (string | NapiTarget)[],
  cpus: readonly number[],
  opts: NetnsOptions = {},
): NapiChange[] {
  checkCpusOnline(cpus);
  const targets = toTargets(target);
  requireCaps(capsFor(["CAP_SYS_NICE"], opts.netns), "napi pin");
  const { devices, before } = threadedTargets(targets, opts.netns);
  applyAll(
    before.map((b) => {
      const pid = b.pid as number;
      const prev = b.cpus ?? getAffinity(pid);
      return { run: () => void setAffinity(pid, cpus), undo: () => void setAffinity(pid, prev) };
    }),
  );
  return reportChanges(devices, before, opts.netns);
}

/** Give the kthreads of the targets a scheduling class; restores earlier classes if one fails. */
export function schedNapi(
  target: string | NapiTarget | readonly (string | NapiTarget)[],
  policy: SchedPolicy,
  opts: NetnsOptions = {},
): NapiChange[] {
  validateSchedPolicy(policy);
  const targets = toTargets(target);
  requireCaps(capsFor(["CAP_SYS_NICE"], opts.netns), "napi sched");
  const { devices, before } = threadedTargets(targets, opts.netns);
  applyAll(
    before.map((b) => {
      const pid = b.pid as number;
      const prev = b.policy ?? getSchedPolicy(pid);
      return { run: () => void setSchedPolicy(pid, policy), undo: () => void setSchedPolicy(pid, prev) };
    }),
  );
  return reportChanges(devices, before, opts.netns);
}
