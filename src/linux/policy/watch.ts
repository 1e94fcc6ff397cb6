/**
 * Kernel notifications that mean NAPIs may have been re-created, from one network namespace:
 * rtnetlink link events (RTNLGRP_LINK: up/down, new and deleted devices, `rtmsg_ifinfo`), the
 * netdev genl family's groups ("mgmt": device add/del/change; "page-pool": pools are re-created
 * with a device's rx queues, `netdev_nl_page_pool_event`) and ethtool's "monitor" group (channel
 * changes, `ethnl_notify`). Sockets are non-blocking; poll(2) waits on a koffi worker thread, so
 * the event loop stays free, and a wake-up is handed to `onEvents` within the same tick.
 */
import { HostError } from "../../core/errors.js";
import { check, lastErrno, libc, POLLFD_SIZE, POLLIN, pollAsync } from "../libc.js";
import { decodeGenl, decodeMessages, NetlinkDecodeError } from "../netlink/codec.js";
import { NETLINK_GENERIC } from "../netlink/families.js";
import { GenlSocket } from "../netlink/genl.js";
import { decodeLink, NETLINK_ROUTE, RTMGRP_LINK } from "../netlink/rtnl.js";
import { withNetns } from "../netns.js";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SOL_NETLINK = 270;
const NETLINK_ADD_MEMBERSHIP = 1;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const ENOBUFS = 105;

export interface WatchEvent {
  /** link: rtnetlink; netdev / ethtool: genl notification; overflow: events were lost (rescan all). */
  source: "link" | "netdev" | "ethtool" | "overflow";
  ifname?: string;
  ifindex?: number;
  /** For link events: IFF_UP set, or the device was deleted. */
  up?: boolean;
  deleted?: boolean;
  cmd?: number;
  /** process.hrtime.bigint() when the wake-up reached napilab (CLOCK_MONOTONIC, ns). */
  receivedNs: bigint;
}

interface Sub {
  fd: number;
  source: "link" | "netdev" | "ethtool";
}

function intOpt(fd: number, level: number, name: number, value: number, what: string): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  check(what, libc.setsockopt(fd, level, name, b, 4));
}

/** A non-blocking netlink socket bound to `groups` (legacy bitmask) plus `memberships` (group ids). */
function openMcast(protocol: number, groups: number, memberships: number[]): number {
  const fd = check(
    "netlink socket",
    libc.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol),
  );
  try {
    const addr = Buffer.alloc(12);
    addr.writeUInt16LE(AF_NETLINK, 0);
    addr.writeUInt32LE(groups, 8);
    check("netlink bind", libc.bind(fd, addr, addr.length));
    intOpt(fd, SOL_SOCKET, SO_RCVBUF, 1 << 20, "setsockopt SO_RCVBUF");
    for (const g of memberships)
      intOpt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g, `joining netlink group ${g}`);
  } catch (err) {
    libc.close(fd);
    throw err;
  }
  return fd;
}

export class NetlinkWatcher {
  private readonly subs: Sub[] = [];
  private readonly buf = Buffer.alloc(64 * 1024);
  private stopped = false;
  /** Names of what is watched, for the start-up log line. */
  readonly groups: string[] = [];

  /** Open and subscribe the sockets inside `netns` (they stay in it after return). */
  constructor(
    netns: string | undefined,
    private readonly onEvents: (events: WatchEvent[]) => void,
    private readonly pollTimeoutMs = 1000,
  ) {
    withNetns(netns, () => {
      try {
        this.subs.push({ fd: openMcast(NETLINK_ROUTE, RTMGRP_LINK, []), source: "link" });
        this.groups.push("rtnetlink link");
        const genl = new GenlSocket();
        try {
          for (const [family, names, source] of [
            ["netdev", ["mgmt", "page-pool"], "netdev"],
            ["ethtool", ["monitor"], "ethtool"],
          ] as const) {
            const f = genl.resolveFamily(family);
            const ids = names.flatMap((n) => {
              const id = f?.mcastGroups.get(n);
              return id === undefined ? [] : [id];
            });
            if (ids.length === 0) continue;
            this.subs.push({ fd: openMcast(NETLINK_GENERIC, 0, ids), source });
            for (const n of names) if (f?.mcastGroups.has(n)) this.groups.push(`${family} ${n}`);
          }
        } finally {
          genl.close();
        }
      } catch (err) {
        this.close();
        if (err instanceof HostError) throw err;
        throw new HostError(`subscribing to kernel notifications: ${(err as Error).message}`);
      }
    });
  }

  start(): void {
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const fds = Buffer.alloc(POLLFD_SIZE * this.subs.length);
    this.subs.forEach((s, i) => {
      fds.writeInt32LE(s.fd, i * POLLFD_SIZE);
      fds.writeInt16LE(POLLIN, i * POLLFD_SIZE + 4);
    });
    pollAsync(fds, this.subs.length, this.pollTimeoutMs, (err, ready) => {
      if (this.stopped) return;
      if (err) throw err;
      if (ready > 0) {
        const receivedNs = process.hrtime.bigint();
        const events: WatchEvent[] = [];
        this.subs.forEach((s, i) => {
          if ((fds.readInt16LE(i * POLLFD_SIZE + 6) & POLLIN) !== 0) this.drain(s, receivedNs, events);
        });
        if (events.length > 0) this.onEvents(events);
      }
      this.arm();
    });
  }

  /** Read every queued datagram of one socket and decode what it says. */
  private drain(s: Sub, receivedNs: bigint, out: WatchEvent[]): void {
    for (;;) {
      const n = libc.recvfrom(s.fd, this.buf, this.buf.length, MSG_DONTWAIT, null, null);
      if (n < 0) {
        const e = lastErrno();
        if (e === ENOBUFS) {
          out.push({ source: "overflow", receivedNs });
          continue;
        }
        if (e === EAGAIN) return;
        return;
      }
      try {
        for (const m of decodeMessages(this.buf.subarray(0, n))) {
          if (s.source === "link") {
            const l = decodeLink(m);
            if (l)
              out.push({
                source: "link",
                ifname: l.ifname,
                ifindex: l.ifindex,
                up: (l.flags & 1) !== 0,
                deleted: l.deleted,
                receivedNs,
              });
          } else out.push({ source: s.source, cmd: decodeGenl(m.payload).cmd, receivedNs });
        }
      } catch (err) {
        if (!(err instanceof NetlinkDecodeError)) throw err;
        out.push({ source: "overflow", receivedNs }); // undecodable: rescan everything
      }
    }
  }

  private close(): void {
    for (const s of this.subs.splice(0)) libc.close(s.fd);
  }

  /** Stop watching; the worker's poll returns within its timeout and is ignored. */
  stop(): void {
    this.stopped = true;
    this.close();
  }
}
