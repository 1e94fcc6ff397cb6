/**
 * The AF_PACKET generator: frames checked against an independent reading of the headers, then
 * against the kernel (a receiver gets them, fragments included), and large datagrams that used to
 * deliver nothing in threaded cells now arrive whole.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { datagramFrames, type FrameSpec, fragmentsPerDatagram } from "../../src/bench/packet.js";
import { runCli, uniquePrefix } from "./helpers.js";

const SPEC: FrameSpec = {
  srcMac: "02:00:00:00:00:0a",
  dstMac: "02:00:00:00:00:0b",
  srcIp: "198.18.0.1",
  dstIp: "198.18.0.2",
  srcPort: 40001,
  dstPort: 5001,
  size: 64,
  ipId: 0x1234,
};

/** RFC 1071 checksum check: the ones' complement sum over data that includes its checksum is 0xffff. */
function sumsToFfff(bytes: number[]): boolean {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += ((bytes[i] ?? 0) << 8) + (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

function be16(f: Uint8Array, at: number): number {
  return ((f[at] ?? 0) << 8) | (f[at + 1] ?? 0);
}

describe("AF_PACKET frames", () => {
  it("one datagram that fits: Ethernet, IPv4 with DF, UDP, both checksums right", () => {
    const [f, ...more] = datagramFrames(SPEC);
    assert.ok(f);
    assert.equal(more.length, 0);
    assert.equal(f.length, 14 + 20 + 8 + 64);
    assert.deepEqual([...f.subarray(0, 6)], [2, 0, 0, 0, 0, 0x0b]);
    assert.equal(be16(f, 12), 0x0800);
    assert.equal(f[14], 0x45);
    assert.equal(be16(f, 16), 20 + 8 + 64);
    assert.equal(be16(f, 20), 0x4000, "DF, offset 0");
    assert.equal(f[23], 17);
    assert.ok(sumsToFfff([...f.subarray(14, 34)]), "IPv4 header checksum");
    assert.equal(be16(f, 34), 40001);
    assert.equal(be16(f, 36), 5001);
    assert.equal(be16(f, 38), 8 + 64);
    const pseudo = [198, 18, 0, 1, 198, 18, 0, 2, 0, 17, 0, 8 + 64];
    assert.ok(sumsToFfff([...pseudo, ...f.subarray(34)]), "UDP checksum over the pseudo-header");
  });

  it("a datagram past the MTU: fragments with one IP id, 8-byte offsets, MF on all but the last", () => {
    for (const size of [1473, 8000, 64000, 65507]) {
      const frames = datagramFrames({ ...SPEC, size });
      assert.equal(frames.length, fragmentsPerDatagram(size));
      assert.equal(frames.length, Math.ceil((size + 8) / 1480));
      const parts: number[] = [];
      let expectOffset = 0;
      frames.forEach((f, i) => {
        assert.ok(f.length <= 1514, "fits a 1500-byte MTU");
        assert.ok(sumsToFfff([...f.subarray(14, 34)]), `fragment ${i}: header checksum`);
        assert.equal(be16(f, 18), 0x1234, "same IP id in every fragment");
        const flags = be16(f, 20);
        assert.equal((flags & 0x1fff) * 8, expectOffset, `fragment ${i}: offset`);
        assert.equal(Boolean(flags & 0x2000), i < frames.length - 1, `fragment ${i}: MF`);
        assert.equal(be16(f, 16), f.length - 14, "IP total length");
        parts.push(...f.subarray(34));
        expectOffset += f.length - 34;
      });
      assert.equal(parts.length, size + 8, "the fragments carry the whole UDP datagram");
      assert.equal(be16(Uint8Array.from(parts), 4), size + 8);
      const pseudo = [198, 18, 0, 1, 198, 18, 0, 2, 0, 17, (size + 8) >> 8, (size + 8) & 0xff];
      assert.ok(sumsToFfff([...pseudo, ...parts]), `UDP checksum of the reassembled ${size} B datagram`);
    }
  });
});

interface CellJson {
  size: number;
  offeredPps: number;
  deliveredPps: number;
  sent: number;
  received: number;
  drops: { reassembly: number; ring: number; socket: number };
  reassembled: number;
  generator: { kind: string; wholeDatagrams: boolean; framesPerDatagram: number };
}

describe("the packet generator on the real kernel (root)", () => {
  it("is bench's default sender, and paced well below capacity everything it sends arrives", () => {
    // biome-ignore format: option/value pairs
    const r = runCli(["bench", "--modes", "threaded", "--sizes", "300,3000", "--flows", "2", "--duration", "1s",
      "--warmup", "300ms", "--rate", "5k", "--json", "--no-save", "--run-id-prefix", uniquePrefix("tpkt")]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { options: { sender: string }; cells: CellJson[] };
    assert.equal(doc.options.sender, "packet");
    for (const c of doc.cells) {
      assert.equal(c.generator.kind, "packet");
      assert.ok(Math.abs(c.offeredPps - 5000) < 750, `${c.size} B: offered ${c.offeredPps}`);
      // the kernel checks IPv4 and UDP checksums and reassembles: bad frames would not arrive
      assert.ok(
        c.deliveredPps >= c.offeredPps * 0.9,
        `${c.size} B: delivered ${c.deliveredPps} of ${c.offeredPps}`,
      );
    }
    const frag = doc.cells.find((c) => c.size === 3000);
    assert.ok(frag && frag.reassembled > 0 && frag.generator.wholeDatagrams);
  });

  for (const sender of ["packet", "udp"]) {
    it(`${sender} sender: flooded threaded cells of 8000 and 64000 B deliver, without fragment loss`, () => {
      // biome-ignore format: option/value pairs
      const r = runCli(["bench", "--modes", "threaded", "--sizes", "8000,64000", "--flows", "1", "--duration", "1s",
        "--warmup", "500ms", "--sender", sender, "--json", "--no-save", "--run-id-prefix", uniquePrefix("tbig")]);
      assert.equal(r.code, 0, r.stderr);
      for (const c of (JSON.parse(r.stdout) as { cells: CellJson[] }).cells) {
        assert.ok(c.generator.wholeDatagrams);
        assert.ok(c.deliveredPps > 0, `${c.size} B: nothing delivered`);
        // a datagram is lost to reassembly only when one of its fragments was: the sender lost none
        assert.ok(
          c.drops.reassembly <= Math.max(2, 0.01 * c.sent),
          `${c.size} B: ${c.drops.reassembly} failed`,
        );
        assert.ok(
          c.drops.ring <= Math.max(2, 0.01 * c.sent),
          `${c.size} B: ${c.drops.ring} fragments lost at the ring`,
        );
      }
    });
  }
});
