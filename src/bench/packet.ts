/**
 * napilab's AF_PACKET generator: it builds complete Ethernet + IPv4 + UDP frames itself (checksums
 * included, IP fragments for datagrams larger than the MTU) and hands them to the device with
 * sendmmsg(2) on a packet socket with PACKET_QDISC_BYPASS, skipping the whole UDP/IP transmit path
 * (socket, routing, neighbour, ip_fragment, qdisc) that a UDP socket pays per datagram.
 *
 * Fragmented datagrams are sent whole or not at all: when the device refuses a frame (veth stops
 * its queue when the peer's ptr_ring is full and a qdisc is attached; the packet socket's
 * `dev_direct_xmit` then returns NETDEV_TX_BUSY and sendmmsg stops with ENOBUFS), the sender
 * waits and resends from that frame, so no datagram loses a fragment to its own sender.
 */
import koffi from "koffi";
import { check, libc } from "../linux/libc.js";

export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOL_PACKET = 263;
/** PACKET_QDISC_BYPASS (include/uapi/linux/if_packet.h): packet_snd uses packet_direct_xmit. */
export const PACKET_QDISC_BYPASS = 20;
const ETH_P_IP = 0x0800;
const SOL_SOCKET = 1;
const SO_SNDBUFFORCE = 32;
const ETH_HLEN = 14;
const IP_HLEN = 20;
const UDP_HLEN = 8;
/** Room for IP payload in one 1500-byte frame, a multiple of 8 as fragment offsets need. */
export const FRAGMENT_DATA = 1480;
const IP_DF = 0x4000;
const IP_MF = 0x2000;
const ENOBUFS = 105;
const EAGAIN = 11;

export interface FrameSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** UDP payload bytes. */
  size: number;
  /** IP identification (fragmented datagrams must each have their own). */
  ipId: number;
}

/** Frames one UDP datagram needs at MTU 1500. */
export function fragmentsPerDatagram(size: number): number {
  return Math.ceil((UDP_HLEN + size) / FRAGMENT_DATA);
}

function macBytes(mac: string): number[] {
  const b = mac.split(":").map((x) => Number.parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad MAC address '${mac}'`);
  return b;
}

function ipBytes(ip: string): number[] {
  return ip.split(".").map(Number);
}

/** Ones' complement sum of 16-bit big-endian words (RFC 1071), not yet folded or inverted. */
function sum16(buf: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = start; i + 1 < end; i += 2) s += ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
  if ((end - start) & 1) s += (buf[end - 1] ?? 0) << 8;
  return s;
}

function fold(s: number): number {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return ~x & 0xffff;
}

/** The IPv4 header checksum of the 20 bytes at `off` (with its checksum field zeroed first). */
export function ipChecksum(frame: Uint8Array, off = ETH_HLEN): number {
  frame[off + 10] = 0;
  frame[off + 11] = 0;
  return fold(sum16(frame, off, off + IP_HLEN));
}

/** The UDP datagram (header + payload) with its checksum over the IPv4 pseudo-header (RFC 768). */
export function udpDatagram(spec: FrameSpec): Uint8Array {
  const len = UDP_HLEN + spec.size;
  const d = new Uint8Array(len);
  const v = new DataView(d.buffer);
  v.setUint16(0, spec.srcPort);
  v.setUint16(2, spec.dstPort);
  v.setUint16(4, len);
  for (let i = 0; i < spec.size; i++) d[UDP_HLEN + i] = i & 0xff;
  const pseudo = new Uint8Array(12);
  pseudo.set(ipBytes(spec.srcIp), 0);
  pseudo.set(ipBytes(spec.dstIp), 4);
  pseudo[9] = 17;
  pseudo[10] = len >> 8;
  pseudo[11] = len & 0xff;
  const c = fold(sum16(d, 0, len, sum16(pseudo, 0, 12)));
  v.setUint16(6, c === 0 ? 0xffff : c); // 0 means "no checksum" in UDP over IPv4
  return d;
}

/** Every frame of one datagram: Ethernet + IPv4 (+ fragments past the MTU), checksums filled in. */
export function datagramFrames(spec: FrameSpec): Uint8Array[] {
  const udp = udpDatagram(spec);
  const dst = macBytes(spec.dstMac);
  const src = macBytes(spec.srcMac);
  const fragmented = udp.length > FRAGMENT_DATA;
  const frames: Uint8Array[] = [];
  for (let off = 0; off < udp.length; off += FRAGMENT_DATA) {
    const part = udp.subarray(off, Math.min(udp.length, off + FRAGMENT_DATA));
    const f = new Uint8Array(ETH_HLEN + IP_HLEN + part.length);
    const v = new DataView(f.buffer);
    f.set(dst, 0);
    f.set(src, 6);
    v.setUint16(12, ETH_P_IP);
    f[ETH_HLEN] = 0x45; // version 4, 5 words of header
    v.setUint16(ETH_HLEN + 2, IP_HLEN + part.length);
    v.setUint16(ETH_HLEN + 4, fragmented ? spec.ipId & 0xffff : 0);
    const last = off + FRAGMENT_DATA >= udp.length;
    v.setUint16(ETH_HLEN + 6, fragmented ? (last ? 0 : IP_MF) | (off / 8) : IP_DF);
    f[ETH_HLEN + 8] = 64; // TTL
    f[ETH_HLEN + 9] = 17; // UDP
    f.set(ipBytes(spec.srcIp), ETH_HLEN + 12);
    f.set(ipBytes(spec.dstIp), ETH_HLEN + 16);
    v.setUint16(ETH_HLEN + 10, ipChecksum(f));
    f.set(part, ETH_HLEN + IP_HLEN);
    frames.push(f);
  }
  return frames;
}

/**
 * A bound AF_PACKET socket on `ifname` (in the calling thread's namespace) that bypasses the qdisc.
 * `sndbuf` bounds the frames in flight (a frame holds its share until the peer's NAPI takes it).
 */
export function packetSocket(ifname: string, sndbuf: number): number {
  const fd = check("socket(AF_PACKET, SOCK_RAW)", libc.socket(AF_PACKET, SOCK_RAW, 0));
  try {
    const ifindex = libc.if_nametoindex(ifname);
    if (ifindex === 0) throw new Error(`no device ${ifname} for the packet generator`);
    const one = Buffer.alloc(4);
    one.writeInt32LE(1, 0);
    check("setsockopt(PACKET_QDISC_BYPASS)", libc.setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, one, 4));
    const buf = Buffer.alloc(4);
    buf.writeInt32LE(sndbuf, 0);
    check("setsockopt(SO_SNDBUFFORCE)", libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, buf, 4));
    // struct sockaddr_ll: family, protocol 0 (no receive hook: this socket only sends), ifindex
    const sll = Buffer.alloc(20);
    sll.writeUInt16LE(AF_PACKET, 0);
    sll.writeInt32LE(ifindex, 4);
    check(`bind(AF_PACKET, ${ifname})`, libc.bind(fd, sll, sll.length));
  } catch (err) {
    libc.close(fd);
    throw err;
  }
  return fd;
}

/** Whether this host lets napilab open a packet socket (CAP_NET_RAW, CONFIG_PACKET), or why not. */
export function packetSenderAvailable(): true | string {
  const fd = libc.socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    const e = koffi.errno();
    return e === 1 ? "no CAP_NET_RAW" : e === 97 ? "no AF_PACKET in this kernel" : `socket errno ${e}`;
  }
  libc.close(fd);
  return true;
}

const MMSGHDR = 64;
const IOVEC = 16;
const FRAME_SLOT = 1536;

export interface PacketSendSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  ports: readonly number[];
  size: number;
  /** Datagrams per sendmmsg call (a fragmented datagram's frames always go in one call). */
  batch: number;
}

/**
 * Datagrams to every flow's port prebuilt in memory that does not move, with one mmsghdr per
 * frame. Each call sends the next `batch` datagrams in a cycle over the flows; fragmented
 * datagrams get a fresh IP id (and header checksum) every time they are sent.
 */
export class PacketBatch {
  readonly framesPerDatagram: number;
  readonly datagrams: number;
  readonly perCall: number;
  private readonly mem: unknown;
  private readonly base: bigint;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly frameOff: number;
  private next = 0;
  private ipId = 1;

  constructor(spec: PacketSendSpec) {
    this.framesPerDatagram = fragmentsPerDatagram(spec.size);
    this.perCall = Math.max(1, Math.min(spec.batch, Math.floor(1024 / this.framesPerDatagram)));
    // whole rounds over the flows, at least one call's worth
    const rounds = Math.max(1, Math.ceil(this.perCall / spec.ports.length));
    this.datagrams = rounds * spec.ports.length;
    const frames = this.datagrams * this.framesPerDatagram;
    const total = frames * (MMSGHDR + IOVEC + FRAME_SLOT);
    this.mem = koffi.alloc("uint8", total);
    this.base = koffi.address(this.mem);
    this.view = new DataView(koffi.view(this.mem, total));
    this.bytes = new Uint8Array(this.view.buffer);
    const iovOff = frames * MMSGHDR;
    this.frameOff = iovOff + frames * IOVEC;
    let k = 0;
    for (let d = 0; d < this.datagrams; d++) {
      const port = spec.ports[d % spec.ports.length] as number;
      const fs = datagramFrames({
        srcMac: spec.srcMac,
        dstMac: spec.dstMac,
        srcIp: spec.srcIp,
        dstIp: spec.dstIp,
        srcPort: 40000 + (port % 20000),
        dstPort: port,
        size: spec.size,
        ipId: 0,
      });
      for (const f of fs) {
        const at = this.frameOff + k * FRAME_SLOT;
        this.bytes.set(f, at);
        const m = k * MMSGHDR;
        const iov = iovOff + k * IOVEC;
        this.view.setBigUint64(iov, this.base + BigInt(at), true); // iov_base
        this.view.setBigUint64(iov + 8, BigInt(f.length), true); // iov_len
        this.view.setBigUint64(m + 16, this.base + BigInt(iov), true); // msg_iov
        this.view.setBigUint64(m + 24, 1n, true); // msg_iovlen
        k++;
      }
    }
  }

  /** A fresh IP id in every frame of datagrams [d, d + n), header checksums redone. */
  private restamp(d: number, n: number): void {
    if (this.framesPerDatagram === 1) return;
    for (let i = d; i < d + n; i++) {
      const id = this.ipId;
      this.ipId = (this.ipId + 1) & 0xffff || 1;
      for (let f = 0; f < this.framesPerDatagram; f++) {
        const ip = this.frameOff + (i * this.framesPerDatagram + f) * FRAME_SLOT + ETH_HLEN;
        this.view.setUint16(ip + 4, id);
        this.view.setUint16(ip + 10, ipChecksum(this.bytes, ip));
      }
    }
  }

  /**
   * Send the next call's datagrams. A frame the device refuses (its ring is full: veth dropped it
   * and counted it in tx_dropped) is, with `whole`, sent again after `wait()` until it goes or
   * `stop()` is true, so datagrams stay whole; without, it is left dropped, as a UDP socket's
   * datagram is when veth drops it, and counts as offered. Returns datagrams offered and frames
   * refused.
   */
  sendNext(
    fd: number,
    whole: boolean,
    stop: () => boolean,
    wait: () => void,
  ): { datagrams: number; refused: number } {
    const n = Math.min(this.perCall, this.datagrams - this.next);
    this.restamp(this.next, n);
    const frames = n * this.framesPerDatagram;
    let sent = 0;
    let refused = 0;
    while (sent < frames) {
      const addr = this.base + BigInt((this.next * this.framesPerDatagram + sent) * MMSGHDR);
      const r = libc.sendmmsgAt(fd, addr, frames - sent, 0);
      if (r > 0) sent += r;
      if (sent >= frames) break;
      const e = r < 0 ? koffi.errno() : ENOBUFS;
      if (e !== ENOBUFS && e !== EAGAIN) throw new Error(`sendmmsg on the packet socket: errno ${e}`);
      refused++;
      if (!whole) {
        sent++; // dropped at the ring, like a flood's datagram
        continue;
      }
      if (stop()) break;
      wait();
    }
    const done = Math.floor(sent / this.framesPerDatagram);
    this.next = (this.next + n) % this.datagrams;
    return { datagrams: done, refused };
  }

  free(): void {
    koffi.free(this.mem);
  }
}
