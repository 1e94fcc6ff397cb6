/**
 * Named network namespaces (the /run/netns/NAME files of `ip netns`). Netlink sockets and
 * if_nametoindex talk to the namespace of the thread that opens them, so napilab enters a named
 * namespace with setns(CLONE_NEWNET) on the calling thread, does its work, and always goes back.
 *
 * Stable exports (used by src/bench): `enterNetns`, `withNetns`, `netnsPath`, `isCurrentNetns`.
 */
import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { HostError, InputError } from "../core/errors.js";
import { check, libc, SysError } from "./libc.js";

/** CLONE_NEWNET: setns() nstype for network namespaces (kernel `setns`, include/uapi/linux/sched.h). */
const CLONE_NEWNET = 0x40000000;

/** Where `ip netns add NAME` bind-mounts a namespace. */
export const NETNS_DIR = "/run/netns";

/** Path of a named namespace, after checking the name (no path tricks) and that it exists. */
export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === "." || name === "..")
    throw new InputError(`invalid network namespace name '${name}'`);
  const path = `${NETNS_DIR}/${name}`;
  if (!existsSync(path)) throw new InputError(`unknown network namespace '${name}' (see ip netns list)`);
  return path;
}

/** True when the named namespace is the one the calling thread is in already. */
export function isCurrentNetns(name: string): boolean {
  const a = statSync(netnsPath(name));
  const b = statSync("/proc/thread-self/ns/net");
  return a.ino === b.ino && a.dev === b.dev;
}

function setnsOrThrow(fd: number, what: string): void {
  try {
    check(what, libc.setns(fd, CLONE_NEWNET));
  } catch (err) {
    if (err instanceof SysError && err.code === "EPERM")
      throw new HostError(`${what}: needs CAP_SYS_ADMIN (run napilab as root)`);
    // a /run/netns file whose namespace is gone is an ordinary empty file
    if (err instanceof SysError && err.code === "EINVAL")
      throw new HostError(`${what}: not a network namespace`);
    throw err;
  }
}

/**
 * Move the calling thread into the named namespace and return a function that moves it back.
 * Call the returned function on every path (try/finally); prefer withNetns, which does that.
 */
export function enterNetns(name: string): () => void {
  const path = netnsPath(name);
  const original = openSync("/proc/thread-self/ns/net", "r");
  let target: number | undefined;
  try {
    target = openSync(path, "r");
    setnsOrThrow(target, `entering network namespace '${name}'`);
  } catch (err) {
    closeSync(original);
    throw err;
  } finally {
    if (target !== undefined) closeSync(target);
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    try {
      check("returning to the original network namespace", libc.setns(original, CLONE_NEWNET));
    } finally {
      closeSync(original);
    }
  };
}

/**
 * Run `fn` inside the named namespace (or in the current one when `name` is undefined) and
 * restore the original namespace afterwards, on return and on throw. `fn` must be synchronous:
 * while it runs the main thread is in the other namespace, so no other callback may run meanwhile.
 * File descriptors (sockets) opened inside stay in that namespace after return.
 */
export function withNetns<T>(name: string | undefined, fn: () => T): T {
  if (name === undefined) return fn();
  const restore = enterNetns(name);
  try {
    const result = fn();
    if (result instanceof Promise)
      throw new Error("withNetns: fn must be synchronous (it returned a Promise)");
    return result;
  } finally {
    restore();
  }
}
