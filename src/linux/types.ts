/**
 * What the host-control code reports about NAPI instances and kernel support. These shapes are
 * the stable interface of src/linux for the other pillars (bench, observe) and for `--json`.
 */
import type { KernelThreaded, NapiMode, SchedPolicy } from "../core/vocabulary.js";

/**
 * A scheduling class as the host reports and accepts it: the shared vocabulary's classes plus the
 * two fair-class variants the model does not simulate, SCHED_BATCH (nice applies, no wake-up
 * preemption) and SCHED_IDLE (lowest weight, nice ignored) of include/uapi/linux/sched.h.
 */
export type HostSchedPolicy = SchedPolicy | { policy: "batch"; nice: number } | { policy: "idle" };

/** One NAPI instance as the kernel reports it (netdev napi-get) plus its kthread, if any. */
export interface NapiInfo {
  /** Device name (resolved from ifindex inside the namespace). */
  ifname: string;
  ifindex: number;
  /** The kernel's NAPI id (changes when the driver recreates the instance). */
  id: number;
  /** Interrupt line, or null for devices without one (veth). */
  irq: number | null;
  /** Kernel name of the mode: disabled (softirq), enabled (kthread), busy-poll. */
  threaded: KernelThreaded;
  /** The same in napilab's vocabulary: softirq, threaded, busy-poll. */
  mode: NapiMode;
  /** Pid of the napi/<dev>-<id> kthread; null when the instance has no thread. */
  pid: number | null;
  /** Kthread name (comm), e.g. "napi/eth0-8193". */
  kthread: string | null;
  /** CPUs the kthread may run on. */
  cpus: number[] | null;
  /** Scheduling class and its parameters. */
  policy: HostSchedPolicy | null;
  /** CPU time the kthread has used, in ns (from /proc/<pid>/schedstat). */
  cpuTimeNs: number | null;
  /** rx and tx queue indexes this NAPI serves (netdev queue-get); stable across NAPI re-creation. */
  rxQueues?: number[];
  txQueues?: number[];
  /** Other napi-get attributes, when the kernel reports them. */
  deferHardIrqs?: number;
  groFlushTimeoutNs?: number;
  irqSuspendTimeoutNs?: number;
  /** The named network namespace the device lives in (undefined = napilab's own). */
  netns?: string;
  /**
   * The device-wide switch, /sys/class/net/<dev>/threaded, which the kernel gives NAPIs it creates
   * later (link up, channel change); present when asked for (`listNapi({ deviceState: true })`).
   */
  deviceThreaded?: KernelThreaded;
}

/** Options shared by every call that addresses devices: the named netns they live in. */
export interface NetnsOptions {
  netns?: string;
}

/** What the running kernel supports, detected from the generic netlink controller. */
export interface KernelCaps {
  kernel: string;
  /** netdev genl family present (Linux 6.2+). */
  netdevFamily: boolean;
  /** napi-get (dump NAPI instances) present (6.8+). */
  napiGet: boolean;
  /** napi-set present (6.13+). */
  napiSet: boolean;
  /** napi-set accepts the `threaded` attribute: per-NAPI threaded control. */
  napiSetThreaded: boolean;
  /** The threaded attribute accepts busy-poll (2). */
  busyPoll: boolean;
  /** How a per-device change is applied: "netlink" (per NAPI) or "sysfs" (/sys/class/net/DEV/threaded). */
  deviceControl: "netlink" | "sysfs";
  /** One-line human summary per missing feature. */
  notes: string[];
}

/** A target of a change: all NAPI instances of a device, or one by id. */
export interface NapiTarget {
  ifname: string;
  id?: number;
}
