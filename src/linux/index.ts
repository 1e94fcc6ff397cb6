/**
 * napilab's control of a real Linux host: NAPI discovery, threaded mode, kthread affinity and
 * scheduling class, named network namespaces, and the libc/netlink layers beneath them.
 * This is the stable interface other pillars (bench, observe) import.
 */
export { CAPS, type CapName, effectiveCaps, hasCap, requireCaps } from "./caps.js";
export { checkCpusOnline, onlineCpus } from "./cpus.js";
export { napiThreadName, threadCpusAllowed, threadCpuTimeNs, threadName } from "./kthread.js";
export { check, errno, errnoName, lastErrno, libc, SysError } from "./libc.js";
export {
  type DeviceSwitchChange,
  kernelCaps,
  listNapi,
  type NapiChange,
  parseNapiTarget,
  pinNapi,
  type SetThreadedOptions,
  schedNapi,
  setThreaded,
  setThreadedDetailed,
  type ThreadedResult,
} from "./napi.js";
export { NetdevClient, type RawNapi } from "./netdev.js";
export { enterNetns, isCurrentNetns, NETNS_DIR, netnsPath, withNetns } from "./netns.js";
export {
  formatSchedPolicy,
  getAffinity,
  getSchedPolicy,
  HOST_SCHED_POLICIES,
  type HostSchedPolicyName,
  parseHostSchedPolicyName,
  samePolicy,
  setAffinity,
  setSchedPolicy,
  validateHostSchedPolicy,
} from "./sched.js";
export { readDeviceThreaded, withSysfs, writeDeviceThreaded } from "./sysfs.js";
export type { HostSchedPolicy, KernelCaps, NapiInfo, NapiTarget, NetnsOptions } from "./types.js";
