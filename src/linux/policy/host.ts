/**
 * What a policy is compared with: the devices of one network namespace, each with its device-wide
 * threaded switch and its NAPI instances keyed by rx queue (or by position when the kernel links
 * no queue to the NAPI), and each NAPI's kthread as napi-get reports it (by pid: the kthread's name
 * can carry an older NAPI id than the NAPI it serves now).
 */
import { readlinkSync } from "node:fs";
import { basename } from "node:path";
import { UserError } from "../../core/errors.js";
import type { KernelThreaded } from "../../core/vocabulary.js";
import { threadName } from "../kthread.js";
import { NetdevClient } from "../netdev.js";
import { dumpLinks, type LinkInfo, NETLINK_ROUTE } from "../netlink/rtnl.js";
import { NetlinkSocket } from "../netlink/socket.js";
import { withNetns } from "../netns.js";
import { getAffinity, getSchedPolicy } from "../sched.js";
import { readDeviceThreaded } from "../sysfs.js";
import type { HostSchedPolicy } from "../types.js";

export interface HostNapi {
  ifname: string;
  ifindex: number;
  id: number;
  /** The stable key: rx queue index, or position among the device's NAPIs ordered by id. */
  key: number;
  keyKind: "queue" | "position";
  threaded: KernelThreaded;
  pid: number | null;
  kthread: string | null;
  cpus: number[] | null;
  sched: HostSchedPolicy | null;
}

export interface HostDevice {
  ifindex: number;
  ifname: string;
  up: boolean;
  /** Link kind (veth, ...) or the bound driver's name; undefined when neither is known. */
  driver?: string;
  /** /sys/class/net/DEV/threaded; undefined when sysfs was not read. */
  deviceThreaded?: KernelThreaded;
  napis: HostNapi[];
}

export interface HostState {
  devices: HostDevice[];
}

/** `vb q0` or `vb #0`: how logs and diffs name a NAPI, by its stable key. */
export function napiLabel(n: Pick<HostNapi, "ifname" | "key" | "keyKind">): string {
  return `${n.ifname} ${n.keyKind === "queue" ? "q" : "#"}${n.key}`;
}

/** Which devices to describe in full (the others are skipped: never read, never touched). */
export type DeviceFilter = (link: LinkInfo, driver: string | undefined) => boolean;

function driverOf(link: LinkInfo, sysfs: string | undefined): string | undefined {
  if (sysfs !== undefined)
    try {
      return basename(readlinkSync(`${sysfs}/class/net/${link.ifname}/device/driver`));
    } catch {
      // a virtual device has no bus driver: fall back to its link kind
    }
  return link.kind;
}

/**
 * Netlink sockets opened inside one namespace and kept open: a netdev genl session and an
 * rtnetlink socket. Everything else (/proc, sched_*affinity, sched_*attr) works by pid from any
 * namespace, so a session needs no setns after it is opened.
 */
export class HostSession {
  readonly netns: string | undefined;
  readonly netdev: NetdevClient;
  readonly rtnl: NetlinkSocket;

  private constructor(netns: string | undefined, netdev: NetdevClient, rtnl: NetlinkSocket) {
    this.netns = netns;
    this.netdev = netdev;
    this.rtnl = rtnl;
  }

  static open(netns: string | undefined): HostSession {
    return withNetns(netns, () => {
      const netdev = new NetdevClient();
      try {
        return new HostSession(netns, netdev, NetlinkSocket.open(NETLINK_ROUTE));
      } catch (err) {
        netdev.close();
        throw err;
      }
    });
  }

  close(): void {
    this.netdev.close();
    this.rtnl.close();
  }

  /** The devices `want` selects, with their NAPIs and kthreads; `sysfs` gives switches and drivers. */
  snapshot(sysfs: string | undefined, want: DeviceFilter): HostState {
    const links = dumpLinks(this.rtnl);
    const chosen = links
      .map((l) => ({ link: l, driver: driverOf(l, sysfs) }))
      .filter((x) => want(x.link, x.driver));
    if (chosen.length === 0) return { devices: [] };
    const wanted = new Set(chosen.map((c) => c.link.ifindex));
    const napis = this.netdev.dumpNapi().filter((n) => wanted.has(n.ifindex));
    const queues = this.netdev.dumpQueues();
    const devices: HostDevice[] = [];
    for (const { link, driver } of chosen) {
      const mine = napis.filter((n) => n.ifindex === link.ifindex).sort((a, b) => a.id - b.id);
      const dev: HostDevice = {
        ifindex: link.ifindex,
        ifname: link.ifname,
        up: (link.flags & 1) !== 0,
        napis: mine.map((raw, position): HostNapi => {
          const rx = queues.get(raw.id)?.rx;
          const threaded: KernelThreaded = raw.threaded ?? (raw.pid !== null ? "enabled" : "disabled");
          const n: HostNapi = {
            ifname: link.ifname,
            ifindex: link.ifindex,
            id: raw.id,
            key: rx && rx.length > 0 ? Math.min(...rx) : position,
            keyKind: rx && rx.length > 0 ? "queue" : "position",
            threaded,
            pid: raw.pid,
            kthread: null,
            cpus: null,
            sched: null,
          };
          if (raw.pid !== null) {
            n.kthread = threadName(raw.pid) ?? null;
            try {
              n.cpus = getAffinity(raw.pid);
              n.sched = getSchedPolicy(raw.pid);
            } catch (err) {
              if (!(err instanceof UserError)) throw err; // the kthread exited meanwhile
              n.pid = null;
            }
          }
          return n;
        }),
      };
      if (driver !== undefined) dev.driver = driver;
      if (sysfs !== undefined)
        try {
          dev.deviceThreaded = readDeviceThreaded(sysfs, link.ifname);
        } catch (err) {
          if (!(err instanceof UserError)) throw err; // the device went away meanwhile
        }
      devices.push(dev);
    }
    return { devices };
  }
}
