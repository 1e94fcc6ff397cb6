/**
 * The socket-level helpers the traffic generator and receivers use on their worker threads: a
 * datagram socket, sendmmsg batches, one recv per datagram, setns and sched_setaffinity on the
 * calling thread (the kernel applies both to a thread, not to the process, which is what lets one
 * Node process have a sender in one namespace and receivers in another). The syscalls themselves
 * are declared once, in src/linux/libc.ts.
 */
import koffi from "koffi";
import { check, libc } from "../linux/libc.js";
import { enterNetns as enterNetnsWithRestore } from "../linux/netns.js";

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SO_RCVBUFFORCE = 33;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVTIMEO = 20;
export const SO_BUSY_POLL = 46;
export const SO_PREFER_BUSY_POLL = 69;

/** The calling thread's kernel task id (what /proc/<pid>/task/<tid> is named by). */
export function gettid(): number {
  return libc.gettid();
}

/** Move the calling thread (only it) into the named network namespace for the rest of its life. */
export function enterNetns(name: string): void {
  enterNetnsWithRestore(name); // a traffic thread never goes back, so its restore function is dropped
}

/** Pin the calling thread (pid 0 = this thread for sched_setaffinity) to a set of CPUs. */
export function pinThisThread(cpus: readonly number[]): void {
  const mask = Buffer.alloc(128);
  for (const cpu of cpus) mask[cpu >> 3] = (mask[cpu >> 3] ?? 0) | (1 << (cpu & 7));
  check("sched_setaffinity", libc.sched_setaffinity(0, mask.length, mask));
}

/** struct sockaddr_in for an IPv4 address and port (family little-endian, port and address in network order). */
export function sockaddrIn(address: string, port: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  const octets = address.split(".").map(Number);
  for (let i = 0; i < 4; i++) sa[4 + i] = octets[i] ?? 0;
  return sa;
}

export function udpSocket(): number {
  return check("socket(AF_INET, SOCK_DGRAM)", libc.socket(AF_INET, SOCK_DGRAM, 0));
}

export function bindTo(fd: number, address: string, port: number): void {
  const sa = sockaddrIn(address, port);
  check(`bind(${address}:${port})`, libc.bind(fd, sa, sa.length));
}

export function setIntOpt(fd: number, level: number, name: number, value: number, what: string): void {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value, 0);
  check(`setsockopt(${what})`, libc.setsockopt(fd, level, name, v, 4));
}

/** SO_RCVTIMEO: a blocking recv returns EAGAIN after this long, so a receiver can notice a stop flag. */
export function setRecvTimeout(fd: number, ms: number): void {
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  check("setsockopt(SO_RCVTIMEO)", libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16));
}

/** One recv(2): returns the datagram length, or -errno (EAGAIN on timeout, EINTR). */
export function recvOnce(fd: number, buf: Buffer): number {
  const n = libc.recv(fd, buf, buf.length, 0);
  return n < 0 ? -koffi.errno() : n;
}

export function closeFd(fd: number): void {
  libc.close(fd);
}

const MMSGHDR = 64; // struct mmsghdr on LP64: struct msghdr (56) + msg_len + padding
const IOVEC = 16;

/**
 * A prepared sendmmsg batch in memory that does not move: `count` messages of `size` bytes,
 * message i going to destination `dests[i % dests.length]` (one destination per flow), all
 * sharing one payload buffer. Built once; each send is one syscall for the whole batch.
 */
export class SendBatch {
  readonly count: number;
  private readonly mem: unknown;

  constructor(dests: readonly Buffer[], count: number, size: number) {
    this.count = count;
    const total = count * (MMSGHDR + IOVEC) + dests.length * 16 + Math.max(size, 1);
    this.mem = koffi.alloc("uint8", total);
    const base = koffi.address(this.mem);
    const view = new DataView(koffi.view(this.mem, total));
    const bytes = new Uint8Array(view.buffer);
    const iovOff = count * MMSGHDR;
    const saOff = iovOff + count * IOVEC;
    const payloadOff = saOff + dests.length * 16;
    dests.forEach((sa, i) => {
      bytes.set(sa, saOff + i * 16);
    });
    for (let i = 0; i < size; i++) bytes[payloadOff + i] = i & 0xff;
    for (let i = 0; i < count; i++) {
      const m = i * MMSGHDR;
      const iov = iovOff + i * IOVEC;
      view.setBigUint64(iov, base + BigInt(payloadOff), true); // iov_base
      view.setBigUint64(iov + 8, BigInt(size), true); // iov_len
      view.setBigUint64(m, base + BigInt(saOff + (i % dests.length) * 16), true); // msg_name
      view.setUint32(m + 8, 16, true); // msg_namelen
      view.setBigUint64(m + 16, base + BigInt(iov), true); // msg_iov
      view.setBigUint64(m + 24, 1n, true); // msg_iovlen
    }
  }

  /** sendmmsg(2) of the first `n` messages: returns how many were sent, or -errno. */
  send(fd: number, n = this.count): number {
    const r = libc.sendmmsg(fd, this.mem, n, 0);
    return r < 0 ? -koffi.errno() : r;
  }

  free(): void {
    koffi.free(this.mem);
  }
}
