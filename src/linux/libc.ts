/**
 * The one place napilab loads libc through koffi. Every syscall the host-control code (and the
 * bench pillar's socket code) needs is declared here, so a missing symbol fails at load time in
 * one spot, and errno is read right after each call through `check`.
 *
 * Stable exports (used by src/bench): `libc`, `SysError`, `check`, `errnoName`, `errno` constants.
 * All calls are synchronous and run on the calling (main) thread: that matters for setns, which
 * switches only the calling thread's network namespace.
 */
import { constants } from "node:os";
import koffi from "koffi";

const lib = koffi.load("libc.so.6");

/** x86_64 / aarch64 syscall numbers for the calls glibc has no wrapper for. */
const SYSCALLS: Record<string, { sched_setattr: number; sched_getattr: number }> = {
  x64: { sched_setattr: 314, sched_getattr: 315 },
  arm64: { sched_setattr: 274, sched_getattr: 275 },
};

/** Raw libc functions. Buffers are passed as `void *`; return values are C ints/longs. */
export const libc = {
  socket: lib.func("int socket(int domain, int type, int protocol)") as (
    domain: number,
    type: number,
    protocol: number,
  ) => number,
  bind: lib.func("int bind(int fd, void *addr, uint32_t addrlen)") as (
    fd: number,
    addr: Buffer,
    len: number,
  ) => number,
  getsockname: lib.func("int getsockname(int fd, void *addr, _Inout_ uint32_t *addrlen)") as (
    fd: number,
    addr: Buffer,
    len: number[],
  ) => number,
  setsockopt: lib.func("int setsockopt(int fd, int level, int name, void *val, uint32_t len)") as (
    fd: number,
    level: number,
    name: number,
    val: Buffer,
    len: number,
  ) => number,
  getsockopt: lib.func(
    "int getsockopt(int fd, int level, int name, _Out_ void *val, _Inout_ uint32_t *len)",
  ) as (fd: number, level: number, name: number, val: Buffer, len: number[]) => number,
  sendto: lib.func(
    "intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t alen)",
  ) as (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, alen: number) => number,
  recvfrom: lib.func(
    "intptr_t recvfrom(int fd, _Out_ void *buf, size_t len, int flags, void *addr, void *alen)",
  ) as (
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    addr: Buffer | null,
    alen: Buffer | null,
  ) => number,
  connect: lib.func("int connect(int fd, void *addr, uint32_t len)") as (
    fd: number,
    addr: Buffer,
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
  gettid: lib.func("int gettid(void)") as () => number,
  close: lib.func("int close(int fd)") as (fd: number) => number,
  setns: lib.func("int setns(int fd, int nstype)") as (fd: number, nstype: number) => number,
  sched_setaffinity: lib.func("int sched_setaffinity(int pid, size_t size, void *mask)") as (
    pid: number,
    size: number,
    mask: Buffer,
  ) => number,
  sched_getaffinity: lib.func("int sched_getaffinity(int pid, size_t size, _Out_ void *mask)") as (
    pid: number,
    size: number,
    mask: Buffer,
  ) => number,
  if_nametoindex: lib.func("unsigned int if_nametoindex(const char *name)") as (name: string) => number,
  if_indextoname: lib.func("void *if_indextoname(unsigned int index, _Out_ uint8_t *buf)") as (
    index: number,
    buf: Buffer,
  ) => unknown,
  mount: lib.func(
    "int mount(const char *src, const char *target, const char *fstype, unsigned long flags, void *data)",
  ) as (src: string, target: string, fstype: string, flags: number, data: null) => number,
  umount2: lib.func("int umount2(const char *target, int flags)") as (
    target: string,
    flags: number,
  ) => number,
  syscall: lib.func("long syscall(long number, ...)") as (...args: unknown[]) => number,
};

/** sched_setattr(2) (kernel `sched_setattr` syscall; glibc has no wrapper before 2.41). */
export function sysSchedSetattr(pid: number, attr: Buffer, flags = 0): number {
  const nr = SYSCALLS[process.arch]?.sched_setattr;
  if (nr === undefined) throw new Error(`sched_setattr: unsupported architecture ${process.arch}`);
  return libc.syscall(nr, "int", pid, "void *", attr, "unsigned int", flags);
}

/** sched_getattr(2): fills `attr` (its length is passed as the size). */
export function sysSchedGetattr(pid: number, attr: Buffer, flags = 0): number {
  const nr = SYSCALLS[process.arch]?.sched_getattr;
  if (nr === undefined) throw new Error(`sched_getattr: unsupported architecture ${process.arch}`);
  return libc.syscall(nr, "int", pid, "void *", attr, "unsigned int", attr.length, "unsigned int", flags);
}

/** errno of the last libc call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n as number, name] as const),
);

/** Symbolic name of an errno value, e.g. 1 -> "EPERM". */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

const MESSAGES: Record<string, string> = {
  EPERM: "operation not permitted",
  EACCES: "permission denied",
  ENOENT: "no such object",
  ESRCH: "no such process",
  ENODEV: "no such device",
  EINVAL: "invalid argument",
  EBUSY: "resource busy",
  EOPNOTSUPP: "operation not supported",
  ENOTSUP: "operation not supported",
  ERANGE: "value out of range",
  EAFNOSUPPORT: "address family not supported",
  EPROTONOSUPPORT: "protocol not supported",
  EMSGSIZE: "message too long",
};

/** A failed syscall or a netlink error reply: keeps the errno so callers can map it to a message. */
export class SysError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(what: string, errno: number) {
    const code = errnoName(errno);
    super(`${what}: ${MESSAGES[code] ?? code} (${code})`);
    this.name = "SysError";
    this.errno = errno;
    this.code = code;
  }
}

/** Throw a SysError when a libc call returned a negative value; pass the value through otherwise. */
export function check(what: string, ret: number): number {
  if (ret < 0) throw new SysError(what, lastErrno());
  return ret;
}

/** errno constants by name, e.g. errno.EPERM. */
export const errno: Readonly<Record<string, number>> = constants.errno as Record<string, number>;
