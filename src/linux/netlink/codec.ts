/**
 * A small netlink codec: message headers (nlmsghdr, genlmsghdr, nlmsgerr) and attributes (nlattr,
 * 4-byte aligned, nested), driven by attribute-set tables rather than ad-hoc offsets.
 * Models the kernel's wire format of include/uapi/linux/netlink.h (`nla_put`, `nlmsg_parse`).
 * The decoder never trusts lengths: anything malformed throws NetlinkDecodeError.
 */

/** NLA_ALIGNTO / NLMSG_ALIGNTO: attributes and messages are padded to 4 bytes. */
export const ALIGN = 4;
export const NLMSG_HDRLEN = 16;
export const GENL_HDRLEN = 4;
export const NLA_HDRLEN = 4;
/** nla_type carries two flag bits above the type number (NLA_F_NESTED, NLA_F_NET_BYTEORDER). */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const align = (n: number): number => (n + ALIGN - 1) & ~(ALIGN - 1);

/** A malformed netlink message or attribute (truncated, bad length, wrong size for its type). */
export class NetlinkDecodeError extends Error {
  constructor(message: string) {
    super(`netlink decode: ${message}`);
    this.name = "NetlinkDecodeError";
  }
}

/** Attribute value kinds, as in the YNL specs (Documentation/netlink/specs/*.yaml). */
export type AttrType =
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "s32"
  | "uint" // NLA_UINT: 4 or 8 bytes
  | "string" // NUL-terminated
  | "binary"
  | "flag"
  | { nested: AttrSet }
  | { indexedArray: AttrSet } // nested attrs whose type is an index, each itself a nest
  | { indexedU32: true }; // nested attrs whose type is a key and value a u32 (e.g. op -> policy)

export interface AttrSpec {
  name: string;
  type: AttrType;
}

/** An attribute set: attribute numbers to names and kinds (one `attribute-sets` entry of a spec). */
export interface AttrSet {
  name: string;
  attrs: Record<number, AttrSpec>;
}

export type AttrValue =
  | number
  | bigint
  | string
  | boolean
  | Buffer
  | DecodedAttrs
  | DecodedAttrs[]
  | Record<number, number>;

/** Decoded attributes by name; attributes the table does not know land in `unknown` by number. */
export interface DecodedAttrs {
  [name: string]: AttrValue | undefined;
}

/** A raw attribute: type number (flags stripped), flags and payload. */
export interface RawAttr {
  type: number;
  nested: boolean;
  payload: Buffer;
}

/** Split a buffer into attributes; throws on a header or length that does not fit. */
export function splitAttrs(buf: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLA_HDRLEN) throw new NetlinkDecodeError(`truncated attribute header at ${off}`);
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < NLA_HDRLEN) throw new NetlinkDecodeError(`attribute length ${len} below header size at ${off}`);
    if (off + len > buf.length)
      throw new NetlinkDecodeError(`attribute at ${off} claims ${len} bytes, only ${buf.length - off} left`);
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      payload: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align(len);
  }
  return out;
}

function need(a: RawAttr, name: string, sizes: number[]): void {
  if (!sizes.includes(a.payload.length))
    throw new NetlinkDecodeError(
      `attribute ${name} has ${a.payload.length} bytes, expected ${sizes.join(" or ")}`,
    );
}

function decodeValue(a: RawAttr, spec: AttrSpec): AttrValue {
  const t = spec.type;
  const p = a.payload;
  if (typeof t === "object") {
    if ("nested" in t) return decodeAttrs(p, t.nested);
    if ("indexedArray" in t) return splitAttrs(p).map((e) => decodeAttrs(e.payload, t.indexedArray));
    const map: Record<number, number> = {};
    for (const e of splitAttrs(p)) {
      need(e, `${spec.name}[${e.type}]`, [4]);
      map[e.type] = e.payload.readUInt32LE(0);
    }
    return map;
  }
  switch (t) {
    case "u8":
      need(a, spec.name, [1]);
      return p.readUInt8(0);
    case "u16":
      need(a, spec.name, [2]);
      return p.readUInt16LE(0);
    case "u32":
      need(a, spec.name, [4]);
      return p.readUInt32LE(0);
    case "s32":
      need(a, spec.name, [4]);
      return p.readInt32LE(0);
    case "u64":
      need(a, spec.name, [8]);
      return p.readBigUInt64LE(0);
    case "uint": {
      need(a, spec.name, [4, 8]);
      if (p.length === 4) return p.readUInt32LE(0);
      const v = p.readBigUInt64LE(0);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case "string": {
      const nul = p.indexOf(0);
      return p.toString("utf8", 0, nul === -1 ? p.length : nul);
    }
    case "flag":
      need(a, spec.name, [0]);
      return true;
    case "binary":
      return Buffer.from(p);
  }
}

/** Decode an attribute stream with a table. Unknown attributes are kept as Buffers under `unknown`. */
export function decodeAttrs(buf: Buffer, set: AttrSet): DecodedAttrs {
  const out: DecodedAttrs = {};
  for (const a of splitAttrs(buf)) {
    const spec = set.attrs[a.type];
    if (spec === undefined) {
      const unknown = (out.unknown ?? {}) as DecodedAttrs;
      unknown[String(a.type)] = Buffer.from(a.payload);
      out.unknown = unknown;
      continue;
    }
    out[spec.name] = decodeValue(a, spec);
  }
  return out;
}

function attr(type: number, payload: Buffer, nested = false): Buffer {
  const len = NLA_HDRLEN + payload.length;
  const b = Buffer.alloc(align(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type | (nested ? NLA_F_NESTED : 0), 2);
  payload.copy(b, NLA_HDRLEN);
  return b;
}

function encodeValue(spec: AttrSpec, value: AttrValue): { payload: Buffer; nested: boolean } {
  const t = spec.type;
  const bad = (): never => {
    throw new TypeError(`attribute ${spec.name}: value ${String(value)} does not fit its type`);
  };
  if (typeof t === "object") {
    if ("nested" in t) return { payload: encodeAttrs(value as DecodedAttrs, t.nested), nested: true };
    if ("indexedArray" in t) {
      const items = (value as DecodedAttrs[]).map((v, i) =>
        attr(i + 1, encodeAttrs(v, t.indexedArray), true),
      );
      return { payload: Buffer.concat(items), nested: true };
    }
    const entries = Object.entries(value as Record<number, number>).map(([k, v]) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v, 0);
      return attr(Number(k), b);
    });
    return { payload: Buffer.concat(entries), nested: true };
  }
  const num = (bytes: number, write: (b: Buffer, v: number) => void): Buffer => {
    if (typeof value !== "number" || !Number.isInteger(value)) bad();
    const b = Buffer.alloc(bytes);
    write(b, value as number);
    return b;
  };
  switch (t) {
    case "u8":
      return { payload: num(1, (b, v) => b.writeUInt8(v, 0)), nested: false };
    case "u16":
      return { payload: num(2, (b, v) => b.writeUInt16LE(v, 0)), nested: false };
    case "u32":
      return { payload: num(4, (b, v) => b.writeUInt32LE(v, 0)), nested: false };
    case "s32":
      return { payload: num(4, (b, v) => b.writeInt32LE(v, 0)), nested: false };
    case "u64":
    case "uint": {
      const v = typeof value === "bigint" ? value : typeof value === "number" ? BigInt(value) : bad();
      if (t === "uint" && v <= 0xffffffffn) {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(Number(v), 0);
        return { payload: b, nested: false };
      }
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v as bigint, 0);
      return { payload: b, nested: false };
    }
    case "string":
      if (typeof value !== "string") bad();
      return {
        payload: Buffer.concat([Buffer.from(value as string, "utf8"), Buffer.alloc(1)]),
        nested: false,
      };
    case "flag":
      return { payload: Buffer.alloc(0), nested: false };
    case "binary":
      if (!Buffer.isBuffer(value)) bad();
      return { payload: value as Buffer, nested: false };
  }
}

/** Encode named attributes with a table, in the table's numeric order. */
export function encodeAttrs(values: DecodedAttrs, set: AttrSet): Buffer {
  const parts: Buffer[] = [];
  const known = new Set<string>();
  for (const [num, spec] of Object.entries(set.attrs)) {
    known.add(spec.name);
    const v = values[spec.name];
    if (v === undefined || (spec.type === "flag" && v === false)) continue;
    const { payload, nested } = encodeValue(spec, v);
    parts.push(attr(Number(num), payload, nested));
  }
  for (const name of Object.keys(values))
    if (!known.has(name) && values[name] !== undefined)
      throw new TypeError(`attribute ${name} is not in attribute set ${set.name}`);
  return Buffer.concat(parts);
}

/** One netlink message: header fields and the payload after the 16-byte header. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** nlmsghdr: build a message around a payload. */
export function encodeMessage(m: Omit<NlMessage, "pid"> & { pid?: number }): Buffer {
  const len = NLMSG_HDRLEN + m.payload.length;
  const b = Buffer.alloc(align(len));
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(m.type, 4);
  b.writeUInt16LE(m.flags, 6);
  b.writeUInt32LE(m.seq >>> 0, 8);
  b.writeUInt32LE((m.pid ?? 0) >>> 0, 12);
  m.payload.copy(b, NLMSG_HDRLEN);
  return b;
}

/** Split a datagram into messages; throws on a header or length that does not fit. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) throw new NetlinkDecodeError(`truncated message header at ${off}`);
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN) throw new NetlinkDecodeError(`message length ${len} below header size at ${off}`);
    if (off + len > buf.length)
      throw new NetlinkDecodeError(`message at ${off} claims ${len} bytes, only ${buf.length - off} left`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align(len);
  }
  return out;
}

/** genlmsghdr: command and family version in front of the attributes. */
export interface GenlMessage {
  cmd: number;
  version: number;
  attrs: Buffer;
}

export function encodeGenl(g: GenlMessage): Buffer {
  const h = Buffer.alloc(GENL_HDRLEN);
  h.writeUInt8(g.cmd, 0);
  h.writeUInt8(g.version, 1);
  return Buffer.concat([h, g.attrs]);
}

export function decodeGenl(payload: Buffer): GenlMessage {
  if (payload.length < GENL_HDRLEN) throw new NetlinkDecodeError("truncated generic netlink header");
  return { cmd: payload.readUInt8(0), version: payload.readUInt8(1), attrs: payload.subarray(GENL_HDRLEN) };
}

/** nlmsgerr extended-ack attributes (NLMSGERR_ATTR_*). */
export const NLMSGERR_ATTRS: AttrSet = {
  name: "nlmsgerr",
  attrs: {
    1: { name: "msg", type: "string" },
    2: { name: "offs", type: "u32" },
    3: { name: "cookie", type: "binary" },
    4: { name: "policy", type: "binary" },
    5: { name: "missType", type: "u32" },
    6: { name: "missNest", type: "u32" },
  },
};

/** NLM_F_CAPPED / NLM_F_ACK_TLVS: flags of an error reply (netlink_ack). */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** An NLMSG_ERROR payload: error (0 = ACK, else -errno) and the extended-ack message, if any. */
export interface NlError {
  error: number;
  message?: string;
  missingAttr?: number;
}

/**
 * Decode an NLMSG_ERROR payload (netlink_ack): int error, the request's header (only the header
 * when NLM_F_CAPPED, else the whole request), then extended-ack TLVs when NLM_F_ACK_TLVS.
 */
export function decodeError(m: NlMessage): NlError {
  const p = m.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError("truncated error message");
  const error = p.readInt32LE(0);
  const out: NlError = { error };
  if ((m.flags & NLM_F_ACK_TLVS) !== 0) {
    const origLen = p.readUInt32LE(4);
    const skip = (m.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : align(origLen);
    if (4 + skip > p.length) throw new NetlinkDecodeError("error message shorter than its echoed request");
    const tlv = decodeAttrs(p.subarray(4 + skip), NLMSGERR_ATTRS);
    if (typeof tlv.msg === "string") out.message = tlv.msg;
    if (typeof tlv.missType === "number") out.missingAttr = tlv.missType;
  }
  return out;
}
