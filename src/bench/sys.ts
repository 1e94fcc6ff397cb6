/**
 * The syscalls the traffic generator and receivers make, through koffi. Kept apart from the host
 * control code's libc module because these run on worker threads in the hot path: a datagram
 * socket, sendmmsg batches, one recv per datagram, setns and sched_setaffinity on the calling
 * thread (the kernel applies both to a thread, not to the process, which is what lets one Node
 * process have a sender in one namespace and receivers in another).
 */
import { closeSync, openSync } from "node:fs";
import { constants } from "node:os";
import koffi from "koffi";

const lib = koffi.load("libc.so.6");

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
export const CLONE_NEWNET = 0x40000000;

const raw = {
  socket: lib.func("int socket(int domain, int type, int protocol)") as (
    d: number,
    t: number,
    p: number,
  ) => number,
  bind: lib.func("int bind(int fd, void *addr, uint32_t len)") as (
    fd: number,
    a: Buffer,
    l: number,
  ) => number,
  connect: lib.func("int connect(int fd, void *addr, uint32_t len)") as (
    fd: number,
    a: Buffer,
    l: number,
  ) => number,
  setsockopt: lib.func("int setsockopt(int fd, int level, int name, void *val, uint32_t len)") as (
    fd: number,
    level: number,
    name: number,
    val: Buffer,
    len: number,
  ) => number,
  recv: lib.func("intptr_t recv(int fd, _Out_ void *buf, size_t len, int flags)") as (
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
  ) => number,
  sendmmsg: lib.func("int sendmmsg(int fd, void *vec, unsigned int vlen, int flags)") as (
    fd: number,
    vec: unknown,
    vlen: number,
    flags: number,
  ) => number,
  close: lib.func("int close(int fd)") as (fd: number) => number,
  setns: lib.func("int setns(int fd, int nstype)") as (fd: number, t: number) => number,
  gettid: lib.func("int gettid(void)") as () => number,
  sched_setaffinity: lib.func("int sched_setaffinity(int pid, size_t size, void *mask)") as (
    pid: number,
    size: number,
    mask: Buffer,
  ) => number,
};

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n as number, name] as const),
);

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/** A failed syscall on a bench thread; the message names the call and the errno. */
export class BenchSysError extends Error {
  readonly errno: number;
  constructor(what: string, errno: number) {
    super(`${what}: ${errnoName(errno)}`);
    this.errno = errno;
  }
}

function check(what: string, ret: number): number {
  if (ret < 0) throw new BenchSysError(what, koffi.errno());
  return ret;
}

export function lastErrno(): number {
  return koffi.errno();
}

/** The calling thread's kernel task id (what /proc/<pid>/task/<tid> is named by). */
export function gettid(): number {
  return raw.gettid();
}

/** Move the calling thread (only it) into the network namespace bound at /run/netns/<name>. */
export function enterNetns(name: string): void {
  const fd = openSync(`/run/netns/${name}`, "r");
  try {
    check(`setns(${name})`, raw.setns(fd, CLONE_NEWNET));
  } finally {
    closeSync(fd);
  }
}

/** Pin the calling thread (pid 0 = this thread for sched_setaffinity) to a set of CPUs. */
export function pinThisThread(cpus: readonly number[]): void {
  const mask = Buffer.alloc(128);
  for (const cpu of cpus) mask[cpu >> 3] = (mask[cpu >> 3] ?? 0) | (1 << (cpu & 7));
  check("sched_setaffinity", raw.sched_setaffinity(0, mask.length, mask));
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
  return check("socket(AF_INET, SOCK_DGRAM)", raw.socket(AF_INET, SOCK_DGRAM, 0));
}

export function bindTo(fd: number, address: string, port: number): void {
  const sa = sockaddrIn(address, port);
  check(`bind(${address}:${port})`, raw.bind(fd, sa, sa.length));
}

export function setIntOpt(fd: number, level: number, name: number, value: number, what: string): void {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value, 0);
  check(`setsockopt(${what})`, raw.setsockopt(fd, level, name, v, 4));
}

/** SO_RCVTIMEO: a blocking recv returns EAGAIN after this long, so a receiver can notice a stop flag. */
export function setRecvTimeout(fd: number, ms: number): void {
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  check("setsockopt(SO_RCVTIMEO)", raw.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16));
}

/** One recv(2): returns the datagram length, or -errno (EAGAIN on timeout, EINTR). */
export function recvOnce(fd: number, buf: Buffer): number {
  const n = raw.recv(fd, buf, buf.length, 0);
  return n < 0 ? -koffi.errno() : n;
}

export function closeFd(fd: number): void {
  raw.close(fd);
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
    const r = raw.sendmmsg(fd, this.mem, n, 0);
    return r < 0 ? -koffi.errno() : r;
  }

  free(): void {
    koffi.free(this.mem);
  }
}
