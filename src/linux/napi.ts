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
} from "../core/vocabulary.js";
import { type CapName, requireCaps } from "./caps.js";
import { checkCpusOnline } from "./cpus.js";
import { threadCpuTimeNs, threadName } from "./kthread.js";
import { libc, SysError } from "./libc.js";
import { NetdevClient, type RawNapi } from "./netdev.js";
import { isCurrentNetns, withNetns } from "./netns.js";
import {
  getAffinity,
  getSchedPolicy,
  setAffinity,
  setSchedPolicy,
  validateHostSchedPolicy,
} from "./sched.js";
import { readDeviceThreaded, withSysfs, writeDeviceThreaded } from "./sysfs.js";
import { applyAll, type Step } from "./transaction.js";
import type { HostSchedPolicy, KernelCaps, NapiInfo, NapiTarget, NetnsOptions } from "./types.js";

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
  mayBeEmpty: ReadonlySet<string> = new Set(),
): ResolvedDevice[] {
  const byDev = new Map<string, ResolvedDevice>();
  for (const t of targets) {
    let dev = byDev.get(t.ifname);
    if (!dev) {
      const ifindex = resolveIfindex(t.ifname, netns);
      const all = client.dumpNapi(ifindex).filter((n) => n.ifindex === ifindex);
      if (all.length === 0 && !mayBeEmpty.has(t.ifname)) throw noNapiError(t.ifname, netns);
      dev = { ifname: t.ifname, ifindex, napis: [] };
      byDev.set(t.ifname, dev);
      (dev as ResolvedDevice & { all: RawNapi[] }).all = all;
    }
    const all = (dev as ResolvedDevice & { all: RawNapi[] }).all;
    const chosen = t.id === undefined ? all : all.filter((n) => n.id === t.id);
    if (chosen.length === 0 && t.id !== undefined)
      throw new InputError(
        `device '${t.ifname}' has no NAPI id ${t.id} (it has ${all.map((n) => n.id).join(", ")})`,
      );
    for (const n of chosen) if (!dev.napis.some((x) => x.id === n.id)) dev.napis.push(n);
  }
  return [...byDev.values()];
}

/** Run fn with a netdev session inside the namespace; kernel errors become one-line HostErrors. */
export function withNetdevClient<T>(netns: string | undefined, fn: (c: NetdevClient) => T): T {
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
export function listNapi(opts: NetnsOptions & { ifname?: string; deviceState?: boolean } = {}): NapiInfo[] {
  const raws = withNetdevClient(opts.netns, (c) => {
    const ifindex = opts.ifname === undefined ? undefined : resolveIfindex(opts.ifname, opts.netns);
    const list = c.dumpNapi(ifindex).filter((n) => ifindex === undefined || n.ifindex === ifindex);
    if (opts.ifname !== undefined && list.length === 0) throw noNapiError(opts.ifname, opts.netns);
    const queues = c.dumpQueues(ifindex);
    return list.map((n) => ({ raw: n, ifname: ifName(n.ifindex), queues: queues.get(n.id) }));
  });
  const list = raws
    .map(({ raw, ifname, queues }) => {
      const info = enrich(raw, ifname, opts.netns);
      if (queues) {
        info.rxQueues = queues.rx.sort((a, b) => a - b);
        info.txQueues = queues.tx.sort((a, b) => a - b);
      }
      return info;
    })
    .sort((a, b) => a.ifindex - b.ifindex || a.id - b.id);
  if (opts.deviceState && list.length > 0)
    withSysfs(opts.netns, (root) => {
      const seen = new Map<string, KernelThreaded | undefined>();
      for (const n of list) {
        if (!seen.has(n.ifname)) {
          let v: KernelThreaded | undefined;
          try {
            v = readDeviceThreaded(root, n.ifname);
          } catch (err) {
            if (!(err instanceof UserError)) throw err; // the device went away meanwhile
          }
          seen.set(n.ifname, v);
        }
        const v = seen.get(n.ifname);
        if (v !== undefined) n.deviceThreaded = v;
      }
    });
  return list;
}

/** What the kernel of the namespace supports (netdev family, napi-get/set, threaded, busy-poll). */
export function kernelCaps(opts: NetnsOptions = {}): KernelCaps {
  return withNetdevClient(opts.netns, (c) => c.caps());
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
  for (const d of devices) {
    if (d.napis.length === 0) continue;
    for (const n of listNapi({ netns, ifname: d.ifname })) out.set(key(n), n);
  }
  return out;
}

export interface SetThreadedOptions extends NetnsOptions {
  /**
   * How to apply. auto (default): a `DEV` target writes the device-wide switch
   * (/sys/class/net/DEV/threaded, kept for NAPIs the kernel creates later), a `DEV/ID` target uses
   * netlink napi-set on that NAPI only. netlink: every target per NAPI, device switch untouched
   * (lost when the NAPIs are re-created). sysfs: whole devices only.
   */
  via?: "auto" | "netlink" | "sysfs";
}

/** The device-wide switch of one device, before and after (read back from sysfs). */
export interface DeviceSwitchChange {
  ifname: string;
  before: KernelThreaded;
  after: KernelThreaded;
}

/** What `setThreadedDetailed` changed: device switches and NAPI instances. */
export interface ThreadedResult {
  devices: DeviceSwitchChange[];
  napis: NapiChange[];
}

/** The kernel refused the device switch: say why in the user's terms. */
function deviceSwitchError(
  err: unknown,
  ifname: string,
  napiCount: number,
  netns: string | undefined,
): unknown {
  if (!(err instanceof HostError) || !/operation not supported|ENOTSUP|EOPNOTSUPP/.test(err.message))
    return err;
  if (napiCount > 0) return err;
  // net-sysfs.c threaded_store -> modify_napi_threaded: -EOPNOTSUPP while dev->napi_list is empty
  return new HostError(
    `the kernel refuses /sys/class/net/${ifname}/threaded${describeNetns(netns)} while the device has no NAPI instances (down, or veth without GRO/XDP); set it once they exist, or let 'napilab policy keep' apply it when they appear`,
  );
}

/**
 * Switch threaded mode (disabled/enabled/busy-poll, or softirq/threaded/busy-poll) on targets
 * (`DEV` = the device-wide switch, which also covers NAPIs created later; `DEV/ID` = one NAPI).
 * Returns each instance before and after.
 */
export function setThreaded(
  target: string | NapiTarget | readonly (string | NapiTarget)[],
  mode: KernelThreaded | NapiMode,
  opts: SetThreadedOptions = {},
): NapiChange[] {
  return setThreadedDetailed(target, mode, opts).napis;
}

/** setThreaded, also reporting the device-wide switches it wrote (before and after, read back). */
export function setThreadedDetailed(
  target: string | NapiTarget | readonly (string | NapiTarget)[],
  mode: KernelThreaded | NapiMode,
  opts: SetThreadedOptions = {},
): ThreadedResult {
  const wanted: KernelThreaded = (KERNEL_THREADED_NAMES as readonly string[]).includes(mode)
    ? (mode as KernelThreaded)
    : napiModeToKernel(parseNapiMode(mode));
  const targets = toTargets(target);
  const netns = opts.netns;
  const via = opts.via ?? "auto";
  requireCaps(capsFor(["CAP_NET_ADMIN"], netns), "napi set");
  const caps = kernelCaps({ netns });
  if (wanted === "busy-poll" && !caps.busyPoll)
    throw new HostError(
      `this kernel (${caps.kernel}) does not support threaded busy-poll (it accepts disabled and enabled)`,
    );
  // a whole-device target is a device switch unless netlink was asked for, or the kernel has only sysfs
  const isSwitch = (t: NapiTarget) => t.id === undefined && (via !== "netlink" || !caps.napiSetThreaded);
  for (const t of targets) {
    if (t.id !== undefined && via === "sysfs")
      throw new InputError(
        `per-NAPI targets like ${t.ifname}/${t.id} need netlink control; sysfs switches whole devices (target ${t.ifname})`,
      );
    if (t.id !== undefined && !caps.napiSetThreaded)
      throw new HostError(
        `this kernel (${caps.kernel}) has no per-NAPI threaded control (netlink napi-set threaded); target the whole device ${t.ifname}`,
      );
  }
  const switchDevs = [...new Set(targets.filter(isSwitch).map((t) => t.ifname))];
  const run = (sysfs: string | undefined): ThreadedResult => {
    const devices = withNetdevClient(netns, (c) => resolveTargets(c, targets, netns, new Set(switchDevs)));
    const current = readBack(devices, netns);
    const before = new Map<string, NapiInfo>();
    for (const d of devices)
      for (const n of d.napis) before.set(key(n), current.get(key(n)) ?? enrich(n, d.ifname, netns));
    const steps: Step[] = [];
    const devBefore = new Map<string, KernelThreaded>();
    for (const ifname of switchDevs) {
      const root = sysfs as string;
      const prev = readDeviceThreaded(root, ifname);
      devBefore.set(ifname, prev);
      const count = devices.find((d) => d.ifname === ifname)?.napis.length ?? 0;
      steps.push({
        run: () => {
          try {
            writeDeviceThreaded(root, ifname, wanted);
          } catch (err) {
            throw deviceSwitchError(err, ifname, count, netns);
          }
        },
        undo: () => writeDeviceThreaded(root, ifname, prev),
      });
    }
    for (const d of devices) {
      if (switchDevs.includes(d.ifname)) continue;
      for (const n of d.napis) {
        const prev = before.get(key(n))?.threaded ?? "disabled";
        steps.push({
          run: () => withNetdevClient(netns, (c) => c.setNapiThreaded(n.id, wanted)),
          undo: () => withNetdevClient(netns, (c) => c.setNapiThreaded(n.id, prev)),
        });
      }
    }
    const result: ThreadedResult = { devices: [], napis: [] };
    // the read-back is the last step: a mismatch undoes the whole change like a failed write
    steps.push({
      run: () => {
        for (const ifname of switchDevs) {
          const now = readDeviceThreaded(sysfs as string, ifname);
          if (now !== wanted)
            throw new HostError(
              `kernel reports /sys/class/net/${ifname}/threaded as ${now} after setting ${wanted}`,
            );
          result.devices.push({ ifname, before: devBefore.get(ifname) as KernelThreaded, after: now });
        }
        const after = readBack(devices, netns);
        for (const [k, b] of before) {
          const a = after.get(k);
          if (!a) throw new HostError(`NAPI ${b.ifname}/${b.id} vanished while switching it (device reset?)`);
          if (a.threaded !== wanted)
            throw new HostError(
              `kernel reports ${b.ifname}/${b.id} as ${a.threaded} after setting ${wanted}`,
            );
          const devNow = result.devices.find((d) => d.ifname === b.ifname);
          if (devNow) {
            b.deviceThreaded = devNow.before;
            a.deviceThreaded = devNow.after;
          }
          result.napis.push({ before: b, after: a });
        }
      },
      undo: () => {},
    });
    applyAll(steps);
    result.napis.sort((x, y) => x.after.ifindex - y.after.ifindex || x.after.id - y.after.id);
    return result;
  };
  if (switchDevs.length > 0) return withSysfs(netns, (root) => run(root));
  return run(undefined);
}

/** Resolve targets to threaded instances; a target in softirq mode has no kthread to act on. */
function threadedTargets(
  targets: NapiTarget[],
  netns: string | undefined,
): { devices: ResolvedDevice[]; before: NapiInfo[] } {
  const devices = withNetdevClient(netns, (c) => resolveTargets(c, targets, netns));
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
  policy: HostSchedPolicy,
  opts: NetnsOptions = {},
): NapiChange[] {
  validateHostSchedPolicy(policy);
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
