/**
 * The generic netlink `netdev` family (net/core/netdev-genl.c): dump NAPI instances (napi-get,
 * `netdev_nl_napi_get_dumpit`), switch one NAPI's threaded mode (napi-set,
 * `netdev_nl_napi_set_doit` -> `napi_set_threaded`), and detect what the running kernel supports
 * from the family's ops and the napi-set policy (`NLA_POLICY_MAX` of the threaded attribute).
 */
import { release } from "node:os";
import { HostError } from "../core/errors.js";
import type { KernelThreaded } from "../core/vocabulary.js";
import type { DecodedAttrs } from "./netlink/codec.js";
import {
  NAPI_THREADED_VALUES,
  NETDEV_A_NAPI_THREADED,
  NETDEV_CMD,
  NETDEV_NAPI,
  NETDEV_QUEUE,
} from "./netlink/families.js";
import { type GenlFamily, GenlSocket } from "./netlink/genl.js";
import { NetlinkError } from "./netlink/socket.js";
import type { KernelCaps } from "./types.js";

/** A NAPI instance as napi-get reports it (before /proc and name lookups). */
export interface RawNapi {
  ifindex: number;
  id: number;
  irq: number | null;
  pid: number | null;
  threaded: KernelThreaded | undefined;
  deferHardIrqs?: number;
  groFlushTimeoutNs?: number;
  irqSuspendTimeoutNs?: number;
}

function toRaw(a: DecodedAttrs): RawNapi {
  const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
  const t = num(a.threaded);
  const raw: RawNapi = {
    ifindex: num(a.ifindex) ?? 0,
    id: num(a.id) ?? 0,
    irq: num(a.irq) ?? null,
    pid: num(a.pid) ?? null,
    threaded: t === undefined ? undefined : (NAPI_THREADED_VALUES[t] ?? undefined),
  };
  if (num(a.deferHardIrqs) !== undefined) raw.deferHardIrqs = num(a.deferHardIrqs);
  if (num(a.groFlushTimeout) !== undefined) raw.groFlushTimeoutNs = num(a.groFlushTimeout);
  if (num(a.irqSuspendTimeout) !== undefined) raw.irqSuspendTimeoutNs = num(a.irqSuspendTimeout);
  return raw;
}

/** An open netdev-family session in the current network namespace. Close it when done. */
export class NetdevClient {
  readonly genl: GenlSocket;
  readonly family: GenlFamily | undefined;
  private capsCache: KernelCaps | undefined;

  constructor() {
    this.genl = new GenlSocket();
    try {
      this.family = this.genl.resolveFamily("netdev");
    } catch (err) {
      this.genl.close();
      throw err;
    }
  }

  close(): void {
    this.genl.close();
  }

  /** What this kernel supports, from the family's op list and the napi-set policy. */
  caps(): KernelCaps {
    if (this.capsCache) return this.capsCache;
    const f = this.family;
    const napiGet = f?.ops.has(NETDEV_CMD.napiGet) ?? false;
    const napiSet = f?.ops.has(NETDEV_CMD.napiSet) ?? false;
    let napiSetThreaded = false;
    let busyPoll = false;
    if (f && napiSet) {
      const threaded = this.genl.commandPolicy(f, NETDEV_CMD.napiSet).get(NETDEV_A_NAPI_THREADED);
      napiSetThreaded = threaded !== undefined;
      busyPoll = threaded?.maxValue !== undefined && threaded.maxValue >= 2n;
    }
    const notes: string[] = [];
    if (!f) notes.push("no netdev netlink family (Linux 6.2+): NAPI instances cannot be listed");
    else if (!napiGet) notes.push("no netdev napi-get (Linux 6.8+): NAPI instances cannot be listed");
    if (!napiSetThreaded)
      notes.push("napi-set has no threaded attribute: threaded mode is set per device through sysfs only");
    if (!busyPoll) notes.push("threaded busy-poll is not supported by this kernel (enabled/disabled only)");
    this.capsCache = {
      kernel: release(),
      netdevFamily: f !== undefined,
      napiGet,
      napiSet,
      napiSetThreaded,
      busyPoll,
      deviceControl: napiSetThreaded ? "netlink" : "sysfs",
      notes,
    };
    return this.capsCache;
  }

  private need(): GenlFamily {
    const c = this.caps();
    if (!this.family || !c.napiGet)
      throw new HostError(`this kernel (${c.kernel}) cannot list NAPI instances: ${c.notes[0]}`);
    return this.family;
  }

  /** napi-get dump, optionally only one device's instances (the dump accepts an ifindex filter). */
  dumpNapi(ifindex?: number): RawNapi[] {
    const f = this.need();
    const filter = ifindex === undefined ? {} : { ifindex };
    return this.genl
      .dumpRequest(f, NETDEV_CMD.napiGet, NETDEV_NAPI, filter, "listing NAPI instances")
      .map(toRaw);
  }

  /**
   * queue-get dump (`netdev_nl_queue_get_dumpit`): NAPI id -> the rx and tx queue indexes it
   * serves. Empty on kernels without queue-get; queues the kernel links to no NAPI are left out.
   */
  dumpQueues(ifindex?: number): Map<number, { rx: number[]; tx: number[] }> {
    const out = new Map<number, { rx: number[]; tx: number[] }>();
    if (!this.family?.ops.has(NETDEV_CMD.queueGet)) return out;
    const filter = ifindex === undefined ? {} : { ifindex };
    let queues: DecodedAttrs[];
    try {
      queues = this.genl.dumpRequest(
        this.family,
        NETDEV_CMD.queueGet,
        NETDEV_QUEUE,
        filter,
        "listing queues",
      );
    } catch (err) {
      if (err instanceof NetlinkError) return out; // queue info is an extra: list NAPIs without it
      throw err;
    }
    for (const q of queues) {
      if (typeof q.napiId !== "number" || typeof q.id !== "number") continue;
      const entry = out.get(q.napiId) ?? { rx: [], tx: [] };
      (q.type === 1 ? entry.tx : entry.rx).push(q.id);
      out.set(q.napiId, entry);
    }
    return out;
  }

  /** napi-set threaded on one NAPI instance. Kernel errors become one-line HostErrors. */
  setNapiThreaded(id: number, mode: KernelThreaded): void {
    const f = this.need();
    const c = this.caps();
    if (!c.napiSetThreaded)
      throw new HostError(`this kernel (${c.kernel}) has no per-NAPI threaded control (napi-set threaded)`);
    if (mode === "busy-poll" && !c.busyPoll)
      throw new HostError(`this kernel (${c.kernel}) does not support threaded busy-poll`);
    try {
      this.genl.doRequest(
        f,
        NETDEV_CMD.napiSet,
        NETDEV_NAPI,
        { id, threaded: NAPI_THREADED_VALUES.indexOf(mode) },
        `setting NAPI ${id} threaded=${mode}`,
      );
    } catch (err) {
      if (err instanceof NetlinkError) {
        if (err.code === "EPERM")
          throw new HostError(`setting NAPI ${id} threaded: needs CAP_NET_ADMIN (run napilab as root)`);
        if (err.code === "ENOENT" || err.code === "ENODEV")
          throw new HostError(`NAPI ${id} no longer exists (its device was removed or reset)`);
        throw new HostError(err.message);
      }
      throw err;
    }
  }
}
