/**
 * Generic netlink on top of NetlinkSocket: resolve a family by name (CTRL_CMD_GETFAMILY), read a
 * command's attribute policy (CTRL_CMD_GETPOLICY) to learn what the kernel accepts, and send
 * do/dump requests with attribute tables. Models the controller of net/netlink/genetlink.c
 * (`ctrl_getfamily`, `ctrl_dumppolicy`).
 */
import {
  type AttrSet,
  type DecodedAttrs,
  decodeAttrs,
  decodeGenl,
  encodeAttrs,
  encodeGenl,
  splitAttrs,
} from "./codec.js";
import {
  CTRL_ATTRS,
  CTRL_CMD_GETFAMILY,
  CTRL_CMD_GETPOLICY,
  CTRL_OP_POLICY,
  GENL_ID_CTRL,
  NETLINK_GENERIC,
  POLICY_TYPE,
} from "./families.js";
import { NetlinkError, NetlinkSocket } from "./socket.js";

export interface GenlFamily {
  name: string;
  id: number;
  version: number;
  maxattr: number;
  /** Command number -> op flags (GENL_ADMIN_PERM, GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP). */
  ops: Map<number, number>;
  /** Multicast group name -> id (CTRL_ATTR_MCAST_GROUPS), for NETLINK_ADD_MEMBERSHIP. */
  mcastGroups: Map<string, number>;
}

/** One attribute's policy: its netlink_attribute_type and, for integers, the accepted maximum. */
export interface AttrPolicy {
  type: number;
  maxValue?: bigint;
  minValue?: bigint;
}

/** A generic netlink socket with the controller at hand. Close it when done. */
export class GenlSocket {
  readonly sock: NetlinkSocket;

  constructor() {
    this.sock = NetlinkSocket.open(NETLINK_GENERIC);
  }

  close(): void {
    this.sock.close();
  }

  /** CTRL_CMD_GETFAMILY by name; undefined when the kernel has no such family (ENOENT). */
  resolveFamily(name: string): GenlFamily | undefined {
    const attrs = encodeAttrs({ familyName: name }, CTRL_ATTRS);
    let replies: ReturnType<NetlinkSocket["request"]>;
    try {
      replies = this.sock.request(GENL_ID_CTRL, encodeGenl({ cmd: CTRL_CMD_GETFAMILY, version: 1, attrs }), {
        what: `resolving generic netlink family '${name}'`,
      });
    } catch (err) {
      if (err instanceof NetlinkError && err.code === "ENOENT") return undefined;
      throw err;
    }
    const first = replies[0];
    if (!first) return undefined;
    const a = decodeAttrs(decodeGenl(first.payload).attrs, CTRL_ATTRS);
    const ops = new Map<number, number>();
    for (const op of (a.ops as DecodedAttrs[] | undefined) ?? [])
      if (typeof op.id === "number") ops.set(op.id, (op.flags as number | undefined) ?? 0);
    const mcastGroups = new Map<string, number>();
    for (const g of (a.mcastGroups as DecodedAttrs[] | undefined) ?? [])
      if (typeof g.name === "string" && typeof g.id === "number") mcastGroups.set(g.name, g.id);
    return {
      name,
      mcastGroups,
      id: a.familyId as number,
      version: (a.version as number | undefined) ?? 1,
      maxattr: (a.maxattr as number | undefined) ?? 0,
      ops,
    };
  }

  /**
   * The do-policy of one command (CTRL_CMD_GETPOLICY with CTRL_ATTR_OP): attribute number ->
   * policy. Empty when the kernel cannot dump per-op policies.
   */
  commandPolicy(family: GenlFamily, cmd: number): Map<number, AttrPolicy> {
    const attrs = encodeAttrs({ familyId: family.id, op: cmd }, CTRL_ATTRS);
    const replies = this.sock.request(
      GENL_ID_CTRL,
      encodeGenl({ cmd: CTRL_CMD_GETPOLICY, version: 1, attrs }),
      {
        dump: true,
        what: `reading the policy of ${family.name} command ${cmd}`,
      },
    );
    let doIdx: number | undefined;
    const tables = new Map<number, Map<number, AttrPolicy>>();
    for (const m of replies) {
      const a = decodeAttrs(decodeGenl(m.payload).attrs, CTRL_ATTRS);
      if (Buffer.isBuffer(a.opPolicy))
        for (const e of splitAttrs(a.opPolicy)) {
          const p = decodeAttrs(e.payload, CTRL_OP_POLICY);
          if (e.type === cmd && typeof p.do === "number") doIdx = p.do;
        }
      if (Buffer.isBuffer(a.policy))
        // CTRL_ATTR_POLICY nests [policy index][attribute number] -> policy attributes
        for (const table of splitAttrs(a.policy)) {
          const map = tables.get(table.type) ?? new Map<number, AttrPolicy>();
          tables.set(table.type, map);
          for (const entry of splitAttrs(table.payload)) {
            const p = decodeAttrs(entry.payload, POLICY_TYPE);
            const ap: AttrPolicy = { type: (p.type as number | undefined) ?? 0 };
            if (typeof p.maxValueU === "bigint") ap.maxValue = p.maxValueU;
            if (typeof p.minValueU === "bigint") ap.minValue = p.minValueU;
            map.set(entry.type, ap);
          }
        }
    }
    return tables.get(doIdx ?? 0) ?? new Map();
  }

  /** A do request: returns the reply's attributes (empty object for a bare ACK). */
  doRequest(family: GenlFamily, cmd: number, set: AttrSet, values: DecodedAttrs, what: string): DecodedAttrs {
    const payload = encodeGenl({ cmd, version: family.version, attrs: encodeAttrs(values, set) });
    const replies = this.sock.request(family.id, payload, { what });
    const first = replies[0];
    return first ? decodeAttrs(decodeGenl(first.payload).attrs, set) : {};
  }

  /** A dump request: one decoded attribute object per reply message. */
  dumpRequest(
    family: GenlFamily,
    cmd: number,
    set: AttrSet,
    values: DecodedAttrs,
    what: string,
  ): DecodedAttrs[] {
    const payload = encodeGenl({ cmd, version: family.version, attrs: encodeAttrs(values, set) });
    return this.sock
      .request(family.id, payload, { dump: true, what })
      .map((m) => decodeAttrs(decodeGenl(m.payload).attrs, set));
  }
}
