/**
 * From a policy and a host snapshot to the list of changes that would make the host match it.
 * Pure: no syscalls, so `policy diff` and the keeper share it and tests can feed it any state.
 *
 * Matching: a rule applies to the devices its `device` glob (and `driver` glob) selects and, if it
 * has `queues`, only to those NAPIs (by rx queue, or position). Rules are read in order and a later
 * rule overrides an earlier one field by field. A rule without `queues` that sets `threaded` sets
 * the device-wide switch (/sys/class/net/DEV/threaded, which the kernel gives NAPIs it creates
 * later); with `queues` it sets those NAPIs only (netlink napi-set). Fields no rule declares are
 * left as they are: the plan never touches what the policy does not match.
 */
import picomatch from "picomatch";
import { formatCpuList } from "../../core/units.js";
import type { KernelThreaded } from "../../core/vocabulary.js";
import { formatSchedPolicy, samePolicy } from "../sched.js";
import type { HostSchedPolicy } from "../types.js";
import { type HostDevice, type HostNapi, type HostState, napiLabel } from "./host.js";
import type { Policy, PolicyRule } from "./schema.js";

/** Where a desired value came from, for logs: rule number (1-based) and file position. */
export interface Origin {
  rule: number;
  where: string;
}

interface NapiRef {
  ifname: string;
  napiId: number;
  label: string;
  pid: number | null;
  kthread: string | null;
}

export type Action =
  | {
      kind: "device-threaded";
      ifname: string;
      from: KernelThreaded | undefined;
      to: KernelThreaded;
      origin: Origin;
    }
  | ({ kind: "napi-threaded"; from: KernelThreaded; to: KernelThreaded; origin: Origin } & NapiRef)
  | ({ kind: "affinity"; from: number[] | null; to: number[]; origin: Origin } & NapiRef)
  | ({ kind: "sched"; from: HostSchedPolicy | null; to: HostSchedPolicy; origin: Origin } & NapiRef);

export interface Plan {
  /** Changes in the order they must be made; kthread actions with pid null wait for a kthread. */
  actions: Action[];
  /** Things the policy asks for that cannot be done now (no NAPIs, no kthread), one line each. */
  notes: string[];
  /** Devices the policy matched, with the number of NAPIs it manages on each. */
  matched: { ifname: string; napis: number }[];
}

function origin(r: PolicyRule): Origin {
  return { rule: r.index + 1, where: r.where };
}

/** Whether a rule selects a device (by name glob and driver glob). */
export function ruleMatchesDevice(r: PolicyRule, ifname: string, driver: string | undefined): boolean {
  if (!picomatch.isMatch(ifname, r.device)) return false;
  if (r.driver !== undefined && (driver === undefined || !picomatch.isMatch(driver, r.driver))) return false;
  return true;
}

/** Whether any rule of the policy selects a device: the snapshot's filter. */
export function policyMatchesDevice(p: Policy, ifname: string, driver: string | undefined): boolean {
  return p.rules.some((r) => ruleMatchesDevice(r, ifname, driver));
}

interface Desired {
  threaded?: { value: KernelThreaded; origin: Origin };
  cpus?: { value: number[]; origin: Origin };
  sched?: { value: HostSchedPolicy; origin: Origin };
}

function sameCpus(a: readonly number[] | null, b: readonly number[]): boolean {
  return a !== null && a.length === b.length && a.every((c, i) => c === b[i]);
}

function ref(n: HostNapi): NapiRef {
  return { ifname: n.ifname, napiId: n.id, label: napiLabel(n), pid: n.pid, kthread: n.kthread };
}

/** Desired device switch and per-NAPI settings of one device, rules merged in order. */
function desiredFor(
  p: Policy,
  dev: HostDevice,
): { device?: { value: KernelThreaded; origin: Origin }; napis: Map<HostNapi, Desired> } {
  let device: { value: KernelThreaded; origin: Origin } | undefined;
  const napis = new Map<HostNapi, Desired>();
  const ordered = [...dev.napis].sort((a, b) => a.key - b.key);
  for (const r of p.rules) {
    if (!ruleMatchesDevice(r, dev.ifname, dev.driver)) continue;
    const o = origin(r);
    if (r.queues === undefined && r.threaded !== undefined) device = { value: r.threaded, origin: o };
    const selected = r.queues === undefined ? ordered : ordered.filter((n) => r.queues?.includes(n.key));
    selected.forEach((n, i) => {
      const d = napis.get(n) ?? {};
      if (r.threaded !== undefined) d.threaded = { value: r.threaded, origin: o };
      if (r.cpus !== undefined) {
        const cpu = r.cpus[i % r.cpus.length] as number;
        d.cpus = { value: r.spread ? [cpu] : r.cpus, origin: o };
      }
      if (r.sched !== undefined) d.sched = { value: r.sched, origin: o };
      napis.set(n, d);
    });
  }
  return device ? { device, napis } : { napis };
}

/** The changes that would make `state` match `p`. */
export function planPolicy(p: Policy, state: HostState): Plan {
  const actions: Action[] = [];
  const notes: string[] = [];
  const matched: Plan["matched"] = [];
  for (const dev of state.devices) {
    if (!policyMatchesDevice(p, dev.ifname, dev.driver)) continue;
    const want = desiredFor(p, dev);
    matched.push({ ifname: dev.ifname, napis: want.napis.size });
    // after a device switch write, every NAPI of the device holds the switch's value
    let switchedTo: KernelThreaded | undefined;
    if (want.device && dev.deviceThreaded !== want.device.value) {
      if (dev.napis.length === 0)
        notes.push(
          `${dev.ifname}: no NAPI instances now (${dev.up ? "GRO/XDP off?" : "link down"}); the device switch (${want.device.value}) is set when they appear`,
        );
      else {
        actions.push({
          kind: "device-threaded",
          ifname: dev.ifname,
          from: dev.deviceThreaded,
          to: want.device.value,
          origin: want.device.origin,
        });
        switchedTo = want.device.value;
      }
    }
    const ordered = [...want.napis.entries()].sort((a, b) => a[0].key - b[0].key);
    for (const [n, d] of ordered) {
      const now = switchedTo ?? n.threaded;
      if (d.threaded && now !== d.threaded.value)
        actions.push({
          kind: "napi-threaded",
          ...ref(n),
          from: now,
          to: d.threaded.value,
          origin: d.threaded.origin,
        });
      const finalMode = d.threaded?.value ?? now;
      // a NAPI switched out of or into threaded mode gets a new kthread (or none): no pid to act on yet
      const pid = finalMode === "disabled" ? null : n.threaded === "disabled" ? null : n.pid;
      if (finalMode === "disabled") {
        if (d.cpus || d.sched)
          notes.push(
            `${napiLabel(n)}: in softirq mode, no kthread to place (rule ${(d.cpus ?? d.sched)?.origin.rule} declares cpus/sched but the NAPI is not threaded)`,
          );
        continue;
      }
      const base = { ...ref(n), pid };
      const cur = pid === null ? null : n;
      const schedFirst = cur?.sched?.policy === "deadline"; // a deadline task refuses a narrower affinity
      const aff: Action | undefined =
        d.cpus && !(cur && sameCpus(cur.cpus, d.cpus.value))
          ? { kind: "affinity", ...base, from: cur?.cpus ?? null, to: d.cpus.value, origin: d.cpus.origin }
          : undefined;
      const sch: Action | undefined =
        d.sched && !(cur?.sched && samePolicy(cur.sched, d.sched.value))
          ? { kind: "sched", ...base, from: cur?.sched ?? null, to: d.sched.value, origin: d.sched.origin }
          : undefined;
      for (const a of schedFirst ? [sch, aff] : [aff, sch]) if (a) actions.push(a);
    }
  }
  return { actions, notes, matched };
}

function who(a: NapiRef): string {
  if (a.pid === null) return `${a.label} (NAPI ${a.napiId}, kthread not created yet)`;
  return `${a.label} (NAPI ${a.napiId}, kthread ${a.pid}${a.kthread ? ` ${a.kthread}` : ""})`;
}

/** One line describing an action: what, on which device/queue/kthread, from what to what, why. */
export function describeAction(a: Action): string {
  const why = `rule ${a.origin.rule} at ${a.origin.where}`;
  switch (a.kind) {
    case "device-threaded":
      return `${a.ifname}: device switch /sys/class/net/${a.ifname}/threaded ${a.from ?? "?"} -> ${a.to} (${why})`;
    case "napi-threaded":
      return `${who(a)}: threaded ${a.from} -> ${a.to} (${why})`;
    case "affinity":
      return `${who(a)}: cpus ${a.from ? formatCpuList(a.from) : "-"} -> ${formatCpuList(a.to)} (${why})`;
    case "sched":
      return `${who(a)}: sched ${formatSchedPolicy(a.from)} -> ${formatSchedPolicy(a.to)} (${why})`;
  }
}

/** The diff as table rows: target, setting, now, wanted, rule. */
export function diffRows(plan: Plan): string[][] {
  return plan.actions.map((a) => {
    const target = a.kind === "device-threaded" ? `${a.ifname} (device)` : a.label;
    const kthread = a.kind === "device-threaded" ? "-" : a.pid === null ? "(new)" : String(a.pid);
    const [what, from, to] =
      a.kind === "device-threaded"
        ? ["threaded switch", a.from ?? "?", a.to]
        : a.kind === "napi-threaded"
          ? ["threaded", a.from, a.to]
          : a.kind === "affinity"
            ? ["cpus", a.from ? formatCpuList(a.from) : "-", formatCpuList(a.to)]
            : ["sched", formatSchedPolicy(a.from), formatSchedPolicy(a.to)];
    return [target, kthread, what, from, to, `${a.origin.rule} (${a.origin.where})`];
  });
}
