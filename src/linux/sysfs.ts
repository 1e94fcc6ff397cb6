/**
 * The per-device threaded knob, /sys/class/net/<dev>/threaded (net/core/net-sysfs.c
 * `threaded_store` -> `netif_set_threaded`): 0 disabled, 1 enabled, 2 busy-poll on kernels that
 * have it. Writing it switches every NAPI of the device and the default of NAPIs created later.
 *
 * sysfs shows the devices of the network namespace it was mounted from, so for a device in a
 * named namespace napilab mounts a private sysfs instance from inside that namespace on a
 * temporary directory for the duration of the call, then detaches it (needs CAP_SYS_ADMIN).
 */
import { mkdtempSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostError, InputError } from "../core/errors.js";
import type { KernelThreaded } from "../core/vocabulary.js";
import { check, libc } from "./libc.js";
import { isCurrentNetns, withNetns } from "./netns.js";

const THREADED_NAMES: readonly KernelThreaded[] = ["disabled", "enabled", "busy-poll"];
const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_NOEXEC = 8;
const MNT_DETACH = 2;

/**
 * Run `fn` with the path of a sysfs that shows the devices of `netns` (or of our own namespace).
 * The temporary mount is detached on every path.
 */
export function withSysfs<T>(netns: string | undefined, fn: (sysfs: string) => T): T {
  if (netns === undefined || isCurrentNetns(netns)) return fn("/sys");
  const dir = mkdtempSync(join(tmpdir(), "napilab-sysfs-"));
  try {
    withNetns(netns, () => {
      if (libc.mount("sysfs", dir, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, null) < 0)
        check(`mounting sysfs of network namespace '${netns}'`, -1);
    });
    try {
      return fn(dir);
    } finally {
      libc.umount2(dir, MNT_DETACH);
    }
  } finally {
    rmdirSync(dir);
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
