/**
 * rtnetlink links (include/uapi/linux/rtnetlink.h, if_link.h): dump the devices of a namespace
 * (RTM_GETLINK, `rtnl_dump_ifinfo`), decode the RTM_NEWLINK/RTM_DELLINK messages the kernel sends
 * to the RTNLGRP_LINK multicast group (`rtmsg_ifinfo`), and set a link up or down (`do_setlink`).
 */
import { type AttrSet, decodeAttrs, type NlMessage } from "./codec.js";
import type { NetlinkSocket } from "./socket.js";

export const NETLINK_ROUTE = 0;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
/** RTNLGRP_LINK as a bind() group bit (RTMGRP_LINK). */
export const RTMGRP_LINK = 1;
export const IFF_UP = 0x1;
/** sizeof(struct ifinfomsg). */
const IFINFOMSG_LEN = 16;

const LINKINFO: AttrSet = { name: "linkinfo", attrs: { 1: { name: "kind", type: "string" } } };

/** IFLA_* attributes napilab reads. */
export const IFLA: AttrSet = {
  name: "ifla",
  attrs: {
    3: { name: "ifname", type: "string" },
    16: { name: "operstate", type: "u8" },
    18: { name: "linkinfo", type: { nested: LINKINFO } },
    31: { name: "numTxQueues", type: "u32" },
    32: { name: "numRxQueues", type: "u32" },
  },
};

export interface LinkInfo {
  ifindex: number;
  ifname: string;
  /** IFF_* flags (IFF_UP = 1). */
  flags: number;
  /** rtnl_link_ops kind (veth, bridge, ...); undefined for hardware devices. */
  kind?: string;
}

/** struct ifinfomsg followed by attributes. */
function ifinfomsg(ifindex: number, flags: number, change: number): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeInt32LE(ifindex, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

/** Decode a RTM_NEWLINK/RTM_DELLINK message; undefined for other types or a short payload. */
export function decodeLink(m: NlMessage): (LinkInfo & { deleted: boolean }) | undefined {
  if ((m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) || m.payload.length < IFINFOMSG_LEN)
    return undefined;
  const a = decodeAttrs(m.payload.subarray(IFINFOMSG_LEN), IFLA);
  const info: LinkInfo & { deleted: boolean } = {
    ifindex: m.payload.readInt32LE(4),
    ifname: typeof a.ifname === "string" ? a.ifname : "",
    flags: m.payload.readUInt32LE(8),
    deleted: m.type === RTM_DELLINK,
  };
  const kind = (a.linkinfo as { kind?: unknown } | undefined)?.kind;
  if (typeof kind === "string") info.kind = kind;
  return info;
}

/** Every link of the socket's namespace. */
export function dumpLinks(sock: NetlinkSocket): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const m of sock.request(RTM_GETLINK, ifinfomsg(0, 0, 0), { dump: true, what: "listing links" })) {
    const l = decodeLink(m);
    if (l)
      out.push({ ifindex: l.ifindex, ifname: l.ifname, flags: l.flags, ...(l.kind ? { kind: l.kind } : {}) });
  }
  return out;
}

/** Set a link administratively up or down (what `ip link set DEV up|down` does). */
export function setLinkUp(sock: NetlinkSocket, ifindex: number, up: boolean): void {
  sock.request(RTM_NEWLINK, ifinfomsg(ifindex, up ? IFF_UP : 0, IFF_UP), {
    what: `setting link ${ifindex} ${up ? "up" : "down"}`,
  });
}
