/**
 * The IRQ-deferral knobs of NAPI instances on a real host: napi_defer_hard_irqs, gro_flush_timeout
 * and irq_suspend_timeout. Per NAPI through netdev `napi-set` (6.13+); for a whole device
 * (`DEV` target) the first two also through sysfs (/sys/class/net/DEV/napi_defer_hard_irqs and
 * gro_flush_timeout), which sets every NAPI of the device and the default of NAPIs created later.
 * irq_suspend_timeout has no sysfs file, so it is always set per NAPI. Validate all, apply, read
 * back, and restore the earlier values if anything fails.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { HostError, InputError } from "../core/errors.js";
import { requireCaps } from "./caps.js";
import { listNapi, parseNapiTarget, withNetdevClient } from "./napi.js";
import type { NetdevClient } from "./netdev.js";
import { NETDEV_CMD, NETDEV_NAPI } from "./netlink/families.js";
import { NetlinkError } from "./netlink/socket.js";
import { isCurrentNetns } from "./netns.js";
import { withSysfs } from "./sysfs.js";
import { applyAll, type Step } from "./transaction.js";
import type { NapiInfo, NapiTarget, NetnsOptions } from "./types.js";

/** The knobs to set; absent ones are left alone. Timeouts in ns. */
export interface NapiIrqKnobs {
  deferHardIrqs?: number;
  groFlushTimeoutNs?: number;
  irqSuspendTimeoutNs?: number;
}

/** netdev napi attribute numbers of the three knobs (NETDEV_A_NAPI_*). */
const ATTR = { deferHardIrqs: 5, groFlushTimeout: 6, irqSuspendTimeout: 7 } as const;
/** napi_defer_hard_irqs is capped at S32_MAX by both napi-set and sysfs. */
const DEFER_MAX = 2 ** 31 - 1;
/** The timeouts are unsigned longs; napilab keeps them within a u32 of ns (4.29 s) to stay portable. */
const TIMEOUT_MAX = 2 ** 32 - 1;

export interface NapiIrqChange {
  before: NapiInfo;
  after: NapiInfo;
  /** How each knob was applied for this instance. */
  via: {
    deferHardIrqs?: "sysfs" | "netlink";
    groFlushTimeoutNs?: "sysfs" | "netlink";
    irqSuspendTimeoutNs?: "netlink";
  };
}

/** Check the knobs before touching anything (one-line InputError naming the option). */
export function validateNapiIrqKnobs(k: NapiIrqKnobs): void {
  const given = Object.values(k).filter((v) => v !== undefined).length;
  if (given === 0)
    throw new InputError(
      "nothing to set: give --defer-hard-irqs, --gro-flush-timeout or --irq-suspend-timeout",
    );
  if (
    k.deferHardIrqs !== undefined &&
    (!Number.isInteger(k.deferHardIrqs) || k.deferHardIrqs < 0 || k.deferHardIrqs > DEFER_MAX)
  )
    throw new InputError(`--defer-hard-irqs must be 0 to ${DEFER_MAX}, got ${k.deferHardIrqs}`);
  for (const [v, what] of [
    [k.groFlushTimeoutNs, "--gro-flush-timeout"],
    [k.irqSuspendTimeoutNs, "--irq-suspend-timeout"],
  ] as const)
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > TIMEOUT_MAX))
      throw new InputError(`${what} must be 0 to 4.29s (whole ns), got ${v}`);
}

function sysfsKnobPath(
  root: string,
  ifname: string,
  file: "napi_defer_hard_irqs" | "gro_flush_timeout",
): string {
  if (!/^[^/\s]{1,15}$/.test(ifname) || ifname === "." || ifname === "..")
    throw new InputError(`invalid device name '${ifname}'`);
  return `${root}/class/net/${ifname}/${file}`;
}

/** Read a device-wide knob from sysfs. */
export function readDeviceKnob(
  root: string,
  ifname: string,
  file: "napi_defer_hard_irqs" | "gro_flush_timeout",
): number {
  const path = sysfsKnobPath(root, ifname, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    throw new HostError(`no device '${ifname}' in sysfs (${path})`);
  }
  if (!/^\d+$/.test(text)) throw new HostError(`unexpected value '${text}' in ${path}`);
  return Number(text);
}

/** Write a device-wide knob to sysfs (net-sysfs.c: napi_defer_hard_irqs_store / gro_flush_timeout_store). */
export function writeDeviceKnob(
  root: string,
  ifname: string,
  file: "napi_defer_hard_irqs" | "gro_flush_timeout",
  value: number,
): void {
  const path = sysfsKnobPath(root, ifname, file);
  try {
    writeFileSync(path, String(value));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    const hint: Record<string, string> = {
      EACCES: "needs CAP_NET_ADMIN (run napilab as root)",
      EPERM: "needs CAP_NET_ADMIN (run napilab as root)",
      ERANGE: "value out of range",
      EINVAL: "value refused by the kernel",
    };
    throw new HostError(`writing ${value} to ${path}: ${hint[code] ?? code}`);
  }
}

/** Which of the knobs napi-set accepts on this kernel (from the command's policy). */
function napiSetKnobs(c: NetdevClient): {
  deferHardIrqs: boolean;
  groFlushTimeout: boolean;
  irqSuspendTimeout: boolean;
} {
  const f = c.family;
  if (!f?.ops.has(NETDEV_CMD.napiSet))
    return { deferHardIrqs: false, groFlushTimeout: false, irqSuspendTimeout: false };
  const p = c.genl.commandPolicy(f, NETDEV_CMD.napiSet);
  return {
    deferHardIrqs: p.has(ATTR.deferHardIrqs),
    groFlushTimeout: p.has(ATTR.groFlushTimeout),
    irqSuspendTimeout: p.has(ATTR.irqSuspendTimeout),
  };
}

/** napi-set with the knob attributes only (netdev_nl_napi_set_doit). */
function napiSetDo(netns: string | undefined, id: number, values: Record<string, number>): void {
  withNetdevClient(netns, (c) => {
    const f = c.family;
    if (!f) throw new HostError("no netdev netlink family on this kernel");
    try {
      c.genl.doRequest(f, NETDEV_CMD.napiSet, NETDEV_NAPI, { id, ...values }, `setting NAPI ${id} IRQ knobs`);
    } catch (err) {
      if (err instanceof NetlinkError) {
        if (err.code === "EPERM")
          throw new HostError(`setting NAPI ${id}: needs CAP_NET_ADMIN (run napilab as root)`);
        if (err.code === "ENOENT" || err.code === "ENODEV")
          throw new HostError(`NAPI ${id} no longer exists (its device was removed or reset)`);
        throw new HostError(err.message);
      }
      throw err;
    }
  });
}

const key = (n: { ifindex: number; id: number }) => `${n.ifindex}/${n.id}`;

/**
 * Set IRQ-deferral knobs on targets (`DEV` = every NAPI of the device, device-wide through sysfs
 * for defer/gro; `DEV/ID` = one NAPI through napi-set). Returns each instance before and after, as
 * the kernel reports them.
 */
export function setNapiIrqKnobs(
  target: string | NapiTarget | readonly (string | NapiTarget)[],
  knobs: NapiIrqKnobs,
  opts: NetnsOptions = {},
): NapiIrqChange[] {
  validateNapiIrqKnobs(knobs);
  const list = Array.isArray(target) ? target : [target];
  if (list.length === 0) throw new InputError("no target given");
  const targets = list.map((x: string | NapiTarget) => (typeof x === "string" ? parseNapiTarget(x) : x));
  const netns = opts.netns;
  requireCaps(
    netns !== undefined && !isCurrentNetns(netns) ? ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"] : ["CAP_NET_ADMIN"],
    "napi set",
  );
  const accepts = withNetdevClient(netns, (c) => napiSetKnobs(c));
  // resolve every target to its instances before changing anything
  const devices = new Map<string, { whole: boolean; napis: NapiInfo[] }>();
  for (const t of targets) {
    const all = listNapi({ netns, ifname: t.ifname });
    const dev = devices.get(t.ifname) ?? { whole: false, napis: [] };
    if (t.id === undefined) {
      dev.whole = true;
      dev.napis = all;
    } else {
      const n = all.find((x) => x.id === t.id);
      if (!n)
        throw new InputError(`no NAPI ${t.id} on '${t.ifname}' (it has ${all.map((x) => x.id).join(", ")})`);
      if (!dev.whole && !dev.napis.some((x) => x.id === n.id)) dev.napis.push(n);
    }
    devices.set(t.ifname, dev);
  }
  const needNetlink = (name: keyof typeof accepts, what: string) => {
    if (!accepts[name])
      throw new HostError(
        `this kernel cannot set ${what} per NAPI (netdev napi-set lacks it, Linux 6.13+)` +
          (what === "irq_suspend_timeout" ? "" : "; give the whole device (DEV) to use sysfs"),
      );
  };
  return withSysfs(netns, (root) => {
    const steps: Step[] = [];
    const via = new Map<string, NapiIrqChange["via"]>();
    const before = new Map<string, NapiInfo>();
    for (const [ifname, dev] of devices) {
      for (const n of dev.napis) {
        before.set(key(n), n);
        via.set(key(n), {});
      }
      // device-wide sysfs for DEV targets: defer and gro (and the default of NAPIs created later)
      const sysfsFiles: [
        "napi_defer_hard_irqs" | "gro_flush_timeout",
        number,
        "deferHardIrqs" | "groFlushTimeoutNs",
      ][] = [];
      if (dev.whole && knobs.deferHardIrqs !== undefined)
        sysfsFiles.push(["napi_defer_hard_irqs", knobs.deferHardIrqs, "deferHardIrqs"]);
      if (dev.whole && knobs.groFlushTimeoutNs !== undefined)
        sysfsFiles.push(["gro_flush_timeout", knobs.groFlushTimeoutNs, "groFlushTimeoutNs"]);
      for (const [file, value, name] of sysfsFiles) {
        const prev = readDeviceKnob(root, ifname, file);
        steps.push({
          run: () => writeDeviceKnob(root, ifname, file, value),
          undo: () => writeDeviceKnob(root, ifname, file, prev),
        });
        for (const n of dev.napis) (via.get(key(n)) as NapiIrqChange["via"])[name] = "sysfs";
      }
      // per NAPI through napi-set: the rest
      const values: Record<string, number> = {};
      if (!dev.whole && knobs.deferHardIrqs !== undefined) {
        needNetlink("deferHardIrqs", "napi_defer_hard_irqs");
        values.deferHardIrqs = knobs.deferHardIrqs;
      }
      if (!dev.whole && knobs.groFlushTimeoutNs !== undefined) {
        needNetlink("groFlushTimeout", "gro_flush_timeout");
        values.groFlushTimeout = knobs.groFlushTimeoutNs;
      }
      if (knobs.irqSuspendTimeoutNs !== undefined) {
        needNetlink("irqSuspendTimeout", "irq_suspend_timeout");
        values.irqSuspendTimeout = knobs.irqSuspendTimeoutNs;
      }
      if (Object.keys(values).length === 0) continue;
      for (const n of dev.napis) {
        const prev: Record<string, number> = {};
        if ("deferHardIrqs" in values) prev.deferHardIrqs = n.deferHardIrqs ?? 0;
        if ("groFlushTimeout" in values) prev.groFlushTimeout = n.groFlushTimeoutNs ?? 0;
        if ("irqSuspendTimeout" in values) prev.irqSuspendTimeout = n.irqSuspendTimeoutNs ?? 0;
        const v = via.get(key(n)) as NapiIrqChange["via"];
        if ("deferHardIrqs" in values) v.deferHardIrqs = "netlink";
        if ("groFlushTimeout" in values) v.groFlushTimeoutNs = "netlink";
        if ("irqSuspendTimeout" in values) v.irqSuspendTimeoutNs = "netlink";
        steps.push({ run: () => napiSetDo(netns, n.id, values), undo: () => napiSetDo(netns, n.id, prev) });
      }
    }
    const changes: NapiIrqChange[] = [];
    // read back from the kernel (napi-get, and sysfs for device-wide writes): a mismatch undoes all
    steps.push({
      run: () => {
        for (const [ifname, dev] of devices) {
          const now = new Map(listNapi({ netns, ifname }).map((n) => [key(n), n]));
          if (dev.whole && knobs.deferHardIrqs !== undefined) {
            const got = readDeviceKnob(root, ifname, "napi_defer_hard_irqs");
            if (got !== knobs.deferHardIrqs)
              throw new HostError(
                `sysfs reports ${ifname} napi_defer_hard_irqs ${got} after writing ${knobs.deferHardIrqs}`,
              );
          }
          if (dev.whole && knobs.groFlushTimeoutNs !== undefined) {
            const got = readDeviceKnob(root, ifname, "gro_flush_timeout");
            if (got !== knobs.groFlushTimeoutNs)
              throw new HostError(
                `sysfs reports ${ifname} gro_flush_timeout ${got} after writing ${knobs.groFlushTimeoutNs}`,
              );
          }
          for (const n of dev.napis) {
            const a = now.get(key(n));
            if (!a) throw new HostError(`NAPI ${ifname}/${n.id} vanished while setting it (device reset?)`);
            const check = (want: number | undefined, got: number | undefined, what: string) => {
              // kernels before per-NAPI config (6.12) do not report the knobs: nothing to compare
              if (want !== undefined && got !== undefined && got !== want)
                throw new HostError(`kernel reports ${ifname}/${n.id} ${what} ${got} after setting ${want}`);
            };
            check(knobs.deferHardIrqs, a.deferHardIrqs, "defer-hard-irqs");
            check(knobs.groFlushTimeoutNs, a.groFlushTimeoutNs, "gro-flush-timeout");
            check(knobs.irqSuspendTimeoutNs, a.irqSuspendTimeoutNs, "irq-suspend-timeout");
            changes.push({ before: before.get(key(n)) as NapiInfo, after: a, via: via.get(key(n)) ?? {} });
          }
        }
      },
      undo: () => {},
    });
    applyAll(steps);
    return changes.sort((x, y) => x.after.ifindex - y.after.ifindex || x.after.id - y.after.id);
  });
}
