import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type AttrSet,
  decodeAttrs,
  decodeError,
  decodeGenl,
  decodeMessages,
  encodeAttrs,
  encodeGenl,
  encodeMessage,
  NetlinkDecodeError,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  splitAttrs,
} from "../../src/linux/netlink/codec.js";
import { CTRL_ATTRS, NETDEV_NAPI } from "../../src/linux/netlink/families.js";

const INNER: AttrSet = {
  name: "inner",
  attrs: { 1: { name: "a", type: "u16" }, 2: { name: "b", type: "string" } },
};
const TABLE: AttrSet = {
  name: "test",
  attrs: {
    1: { name: "u8", type: "u8" },
    2: { name: "u16", type: "u16" },
    3: { name: "u32", type: "u32" },
    4: { name: "s32", type: "s32" },
    5: { name: "u64", type: "u64" },
    6: { name: "uint", type: "uint" },
    7: { name: "str", type: "string" },
    8: { name: "bin", type: "binary" },
    9: { name: "flag", type: "flag" },
    10: { name: "nest", type: { nested: INNER } },
    11: { name: "arr", type: { indexedArray: INNER } },
    12: { name: "map", type: { indexedU32: true } },
  },
};

const innerArb = fc.record(
  {
    a: fc.integer({ min: 0, max: 0xffff }),
    b: fc.string({ unit: "grapheme-ascii" }).filter((s) => !s.includes("\0")),
  },
  { requiredKeys: [], noNullPrototype: true },
);
const valuesArb = fc.record(
  {
    u8: fc.integer({ min: 0, max: 0xff }),
    u16: fc.integer({ min: 0, max: 0xffff }),
    u32: fc.integer({ min: 0, max: 0xffffffff }),
    s32: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    u64: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    uint: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    str: fc.string().filter((s) => !s.includes("\0")),
    bin: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    flag: fc.constant(true),
    nest: innerArb,
    arr: fc.array(innerArb, { maxLength: 4 }),
    map: fc.dictionary(
      fc.integer({ min: 1, max: 0x3fff }).map(String),
      fc.integer({ min: 0, max: 0xffffffff }),
      { maxKeys: 5, noNullPrototype: true },
    ),
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** Decoding anything either works or throws NetlinkDecodeError: never another exception. */
function decodesOrTypedError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof NetlinkDecodeError)) throw err;
  }
}

describe("netlink codec", () => {
  it("encodes a u32 attribute as len, type, little-endian value", () => {
    const b = encodeAttrs({ id: 0x01020304 }, NETDEV_NAPI);
    assert.deepEqual([...b], [8, 0, 2, 0, 4, 3, 2, 1]);
  });

  it("pads a string attribute to 4 bytes and keeps the unpadded length in the header", () => {
    const b = encodeAttrs({ familyName: "netdev" }, CTRL_ATTRS);
    // 4 header + "netdev\0" (7) = 11, padded to 12
    assert.equal(b.length, 12);
    assert.equal(b.readUInt16LE(0), 11);
    assert.equal(b[11], 0);
    assert.equal(decodeAttrs(b, CTRL_ATTRS).familyName, "netdev");
  });

  it("marks nested attributes with NLA_F_NESTED and decodes them back", () => {
    const b = encodeAttrs({ nest: { a: 7, b: "x" } }, TABLE);
    assert.equal(b.readUInt16LE(2), 10 | 0x8000);
    assert.deepEqual(decodeAttrs(b, TABLE), { nest: { a: 7, b: "x" } });
  });

  it("decodes a uint sent in 4 or 8 bytes", () => {
    const four = Buffer.from([8, 0, 8, 0, 1, 0, 0, 0]);
    const eight = Buffer.from([12, 0, 8, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(decodeAttrs(four, NETDEV_NAPI).threaded, 1);
    assert.equal(decodeAttrs(eight, NETDEV_NAPI).threaded, 2);
  });

  it("rejects a u32 attribute of the wrong size with a typed error", () => {
    const b = Buffer.from([6, 0, 2, 0, 1, 2, 0, 0]);
    assert.throws(() => decodeAttrs(b, NETDEV_NAPI), NetlinkDecodeError);
  });

  it("keeps attributes missing from the table under `unknown`", () => {
    const b = Buffer.from([8, 0, 99, 0, 1, 2, 3, 4]);
    const d = decodeAttrs(b, NETDEV_NAPI);
    assert.deepEqual(d.unknown, { "99": Buffer.from([1, 2, 3, 4]) });
  });

  it("round-trips random attribute values through encode and decode", () => {
    fc.assert(
      fc.property(valuesArb, (values) => {
        const decoded = decodeAttrs(encodeAttrs(values, TABLE), TABLE);
        assert.deepEqual(decoded, values);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips messages and generic netlink headers", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.integer({ min: 0, max: 0xffff }),
            flags: fc.integer({ min: 0, max: 0xffff }),
            seq: fc.integer({ min: 0, max: 0xffffffff }),
            pid: fc.integer({ min: 0, max: 0xffffffff }),
            cmd: fc.integer({ min: 0, max: 255 }),
            version: fc.integer({ min: 0, max: 255 }),
            values: valuesArb,
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (msgs) => {
          const wire = Buffer.concat(
            msgs.map((m) =>
              encodeMessage({
                ...m,
                payload: encodeGenl({ cmd: m.cmd, version: m.version, attrs: encodeAttrs(m.values, TABLE) }),
              }),
            ),
          );
          const back = decodeMessages(wire);
          assert.equal(back.length, msgs.length);
          back.forEach((b, i) => {
            const m = msgs[i]!;
            assert.deepEqual([b.type, b.flags, b.seq, b.pid], [m.type, m.flags, m.seq, m.pid]);
            const g = decodeGenl(b.payload);
            assert.deepEqual([g.cmd, g.version], [m.cmd, m.version]);
            assert.deepEqual(decodeAttrs(g.attrs, TABLE), m.values);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("never crashes on random bytes: decodes or throws NetlinkDecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buf = Buffer.from(bytes);
        decodesOrTypedError(() => decodeAttrs(buf, TABLE));
        decodesOrTypedError(() => decodeAttrs(buf, CTRL_ATTRS));
        decodesOrTypedError(() => {
          for (const m of decodeMessages(buf)) {
            decodeGenl(m.payload);
            decodeError({ ...m, flags: m.flags | NLM_F_ACK_TLVS });
          }
        });
      }),
      { numRuns: 2000 },
    );
  });

  it("never crashes on truncated or bit-flipped valid messages", () => {
    fc.assert(
      fc.property(
        valuesArb,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (values, cut, at, byte) => {
          const wire = encodeMessage({
            type: 20,
            flags: 2,
            seq: 1,
            payload: encodeGenl({ cmd: 1, version: 1, attrs: encodeAttrs(values, TABLE) }),
          });
          const truncated = wire.subarray(0, cut % (wire.length + 1));
          const flipped = Buffer.from(wire);
          flipped[at % flipped.length] = byte;
          for (const buf of [truncated, flipped])
            decodesOrTypedError(() => {
              for (const m of decodeMessages(buf)) decodeAttrs(decodeGenl(m.payload).attrs, TABLE);
            });
          if (truncated.length > 0 && truncated.length < wire.length)
            assert.throws(() => decodeMessages(truncated), NetlinkDecodeError);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("decodes an error reply with the kernel's extended-ack message", () => {
    const echoed = encodeMessage({ type: 20, flags: 5, seq: 9, payload: Buffer.alloc(0) });
    const err = Buffer.alloc(4);
    err.writeInt32LE(-22, 0);
    const tlv = Buffer.concat([Buffer.from([14, 0, 1, 0]), Buffer.from("bad value\0"), Buffer.alloc(2)]);
    const msg = decodeMessages(
      encodeMessage({
        type: 2,
        flags: NLM_F_CAPPED | NLM_F_ACK_TLVS,
        seq: 9,
        payload: Buffer.concat([err, echoed, tlv]),
      }),
    )[0]!;
    assert.deepEqual(decodeError(msg), { error: -22, message: "bad value" });
  });

  it("splits attributes at 4-byte boundaries", () => {
    const b = Buffer.concat([
      encodeAttrs({ familyName: "a" }, CTRL_ATTRS),
      encodeAttrs({ familyId: 5 }, CTRL_ATTRS),
    ]);
    assert.deepEqual(
      splitAttrs(b).map((a) => a.type),
      [2, 1],
    );
  });
});
