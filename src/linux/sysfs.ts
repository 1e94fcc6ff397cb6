/**
 * The per-device threaded knob, /sys/class/net/<dev>/threaded (net/core/net-sysfs.c
 * `threaded_store` -> `netif_set_threaded`): 0 disabled, 1 enabled, 2 busy-poll on kernels that
 * have it. Writing it switches every NAPI of the device and the default of NAPIs created later.
 *
 * sysfs shows the devices of the network namespace it was mounted from, so for a device in a
 * named namespace napilab mounts a sysfs instance from inside that namespace. That mount lives in
 * a mount namespace of its own, made for the call by the calling thread alone
 * (unshare(CLONE_NEWNS), propagation made private): the host's mount table never sees it, and when
 * the process dies, even by SIGKILL, the namespace and the mount die with it. No directory is
 * created anywhere: the private sysfs is mounted over /sys inside the private namespace.
 */
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { HostError, InputError } from "../core/errors.js";
import type { KernelThreaded } from "../core/vocabulary.js";
import { check, libc, SysError } from "./libc.js";
import { isCurrentNetns, withNetns } from "./netns.js";

const THREADED_NAMES: readonly KernelThreaded[] = ["disabled", "enabled", "busy-poll"];
const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_NOEXEC = 8;
/** MS_REC | MS_PRIVATE: no mount event of ours propagates to the host's peer groups (mount(2)). */
const MS_REC = 0x4000;
const MS_PRIVATE = 1 << 18;
/** CLONE_NEWNS for unshare(2)/setns(2) (include/uapi/linux/sched.h). */
const CLONE_NEWNS = 0x00020000;

function privileged<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SysError && err.code === "EPERM")
      throw new HostError(`${what}: needs CAP_SYS_ADMIN (run napilab as root)`);
    throw err;
  }
}

/**
 * Run `fn` with the path of a sysfs that shows the devices of `netns` (or of our own namespace).
 * `fn` must be synchronous: while it runs, the calling thread is in a private mount namespace
 * whose /sys is the other namespace's sysfs. Afterwards the thread goes back to the host's mount
 * namespace (kernel `mntns_install`), which drops the private one and its mount.
 */
export function withSysfs<T>(netns: string | undefined, fn: (sysfs: string) => T): T {
  if (netns === undefined || isCurrentNetns(netns)) return fn("/sys");
  const cwd = process.cwd();
  const hostMnt = openSync("/proc/thread-self/ns/mnt", "r");
  try {
    privileged("creating a private mount namespace", () =>
      check("unshare(CLONE_NEWNS)", libc.unshare(CLONE_NEWNS)),
    );
    try {
      check(
        "making the private mount namespace private",
        libc.mount(null, "/", null, MS_REC | MS_PRIVATE, null),
      );
      withNetns(netns, () =>
        privileged(`mounting sysfs of network namespace '${netns}'`, () =>
          check(
            `mounting sysfs of network namespace '${netns}'`,
            libc.mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, null),
          ),
        ),
      );
      const result = fn("/sys");
      if (result instanceof Promise) throw new Error("withSysfs: fn must be synchronous");
      return result;
    } finally {
      // setns to the host's namespace resets root and cwd to its root: restore the cwd
      check("returning to the host's mount namespace", libc.setns(hostMnt, CLONE_NEWNS));
      libc.chdir(cwd);
    }
  } finally {
    closeSync(hostMnt);
  }
}

function threadedPath(sysfs: string, ifname: string): string {
  if (!/^[^/\s]{1,15}$/.test(ifname) || ifname === "." || ifname === "..")
    throw new InputError(`invalid device name '${ifname}'`);
  return `${sysfs}/class/net/${ifname}/threaded`;
}

/** Read a device's threaded mode from sysfs. */
export function readDeviceThreaded(sysfs: string, ifname: string): KernelThreaded {
  const path = threadedPath(sysfs, ifname);
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    throw new HostError(`no device '${ifname}' in sysfs (${path})`);
  }
  const v = THREADED_NAMES[Number(text)];
  if (v === undefined) throw new HostError(`unexpected value '${text}' in ${path}`);
  return v;
}

/** Write a device's threaded mode to sysfs; errors carry the kernel's errno meaning. */
export function writeDeviceThreaded(sysfs: string, ifname: string, mode: KernelThreaded): void {
  const path = threadedPath(sysfs, ifname);
  try {
    writeFileSync(path, String(THREADED_NAMES.indexOf(mode)));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    const hint: Record<string, string> = {
      EOPNOTSUPP: "the device has no NAPI instances, or the kernel does not know this mode",
      EACCES: "needs CAP_NET_ADMIN (run napilab as root)",
      EPERM: "needs CAP_NET_ADMIN (run napilab as root)",
      ENOENT: "no such device",
    };
    throw new HostError(`writing ${mode} to ${path}: ${hint[code] ?? code}`);
  }
}
