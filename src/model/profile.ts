/**
 * Cost profiles: every figure the model charges (per-packet and per-byte stage costs, kernel knobs,
 * NIC and socket sizes) lives in a named JSON file in profiles/, each figure with a provenance string
 * saying where the number comes from. A profile may extend another and override some figures.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { InputError } from "../core/errors.js";
import { readJsonFile } from "../core/files.js";

/** Figures every profile must define (after inheritance). Units are in the names. */
export const CORE_FIGURES = [
  // kernel knobs
  "hz", // CONFIG_HZ: the tick and the jiffies clock
  "netdevBudget", // net.core.netdev_budget
  "napiWeight", // NAPI_POLL_WEIGHT
  "maxSoftirqTimeMs", // MAX_SOFTIRQ_TIME in __do_softirq (msecs_to_jiffies)
  "maxSoftirqRestart", // MAX_SOFTIRQ_RESTART
  "schedBaseSliceNs", // sysctl_sched_base_slice (EEVDF request size)
  "rrTimesliceNs", // sched_rr_timeslice
  "runToParity", // sched_feat(RUN_TO_PARITY): 1 or 0
  "napiThreadBudgetResched", // 1 = the napi kthread also calls cond_resched every netdev_budget packets (2016 proposal)
  "kernelPreempt", // 1 = CONFIG_PREEMPT (kernel code preemptible outside BH/preempt-off sections), 0 = voluntary
  "irqTimeAccounting", // CONFIG_IRQ_TIME_ACCOUNTING: 1 = irq/softirq time is not charged to the interrupted task
  "cfsLatencyNs", // sysctl_sched_latency (fair class "cfs" only)
  "cfsMinGranularityNs", // sysctl_sched_min_granularity (fair class "cfs" only)
  "cfsWakeupGranularityNs", // sysctl_sched_wakeup_granularity (fair class "cfs" only)
  // CPU costs, nanoseconds
  "hardirqNs",
  "timerIrqNs", // the local timer interrupt (tick) handler
  "contextSwitchNs",
  "wakeupNs",
  "napiPollNs",
  "driverRxNs",
  "driverRxPerByteNs",
  "groNs",
  "ipRcvNs",
  "ipDefragNs",
  "udpRcvNs",
  "udpPerByteNs",
  "sockEnqueueNs",
  "recvSyscallNs",
  "copyPerByteNs",
  "busyPollEmptyNs",
  // NIC, wire and sockets
  "ringSize",
  "coalesceNs",
  "mtu",
  "wireBitsPerSecond",
  "rcvbufBytes",
  "skbOverheadBytes",
  "rxBufferBytes",
] as const;

/** Figures of the hypervisor path (tun, vhost-net, virtio-net, vCPU); only needed by the seed experiment. */
export const HV_FIGURES = [
  "hostCpus", // CPUs of the hypervisor host
  "hostRxQueues", // rx queues of the host NIC
  "forwardNs", // host: bridge/forward a frame to the tun device (per frame)
  "tunXmitNs", // host: tun_net_xmit per frame (noqueue: straight into the tun ring)
  "tunQueueLen", // tun device txqueuelen: size of its ptr_ring
  "vhostPerFrameNs", // vhost-net handle_rx per frame (tun_recvmsg + copy into guest buffers)
  "vhostPerByteNs", // vhost-net copy per byte
  "vhostBatch", // frames vhost moves per loop before it checks for rescheduling
  "vhostSignalNs", // vhost: signal the guest (eventfd -> irqfd -> posted interrupt)
  "virtioRingSize", // guest virtio-net rx virtqueue size
  "vmExitNs", // cost of a VM exit/entry pair for the vCPU thread
  "guestIrqNs", // guest: virtio-net interrupt handler
  "guestPerFrameNs", // guest: virtio-net receive_buf + refill per frame (on top of the stack costs)
  "senderPerFlowPps", // remote sender: one netperf UDP_STREAM flow's rate limit (datagrams/s, small payload)
  "senderPerBytePs", // remote sender: per-byte cost of a send, picoseconds (copy + checksum)
  "senderCpus", // remote sender: cores running netperf instances
] as const;

/**
 * Figures of a host's own local path (a sender task, a veth pair, RPS and the backlog); only needed
 * by the bench mirror (bench-host.ts).
 */
export const HOST_PATH_FIGURES = [
  "sendmmsgCallNs", // sendmmsg(2) per call: syscall entry/exit plus the caller's own loop (a JS call through koffi in napilab bench)
  "sendPerDatagramNs", // per datagram down to veth_xmit: packet_snd -> packet_direct_xmit (the bench's AF_PACKET sender), or udp_sendmsg -> ip_output -> __dev_queue_xmit (its UDP sender)
  "sendPerByteNs", // copy of the payload from user space per byte (veth offloads the checksum)
  "vethRingSize", // the peer's ptr_ring length (VETH_RING_SIZE, drivers/net/veth.c)
  "vethRxNs", // veth_xdp_rcv per skb: __ptr_ring_consume, veth_xdp_rcv_skb, eth_type_trans (before napi_gro_receive)
  "rpsEnqueueNs", // get_rps_cpu (flow hash, rps_map) + enqueue_to_backlog (queue lock, input_pkt_queue) per skb
  "backlogPerSkbNs", // process_backlog per skb on the RPS target CPU beyond the stack: the cross-CPU hand-off (remote skb cache lines, rps_lock with irqs off)
  "ipiSendNs", // net_rps_send_ipi -> smp_call_function_single_async per remote CPU kicked (a VM exit on a guest)
  "ipiNs", // the remote CPU's call-function IPI (hardirq): trigger_rx_softirq -> ____napi_schedule(backlog)
  "ipiLatencyNs", // from smp_call_function_single_async to the handler running on the remote CPU (a guest's IPI is injected by the hypervisor)
  "netdevMaxBacklog", // net.core.netdev_max_backlog: input_pkt_queue limit of enqueue_to_backlog
  "flowLimit", // 1 = the CPU is in net.core.flow_limit_cpu_bitmap (skb_flow_limit active), 0 = off (the default)
  "skbFreeNs", // skb_defer_free_flush -> napi_consume_skb per skb a receiver consumed on another CPU, on the CPU that allocated it
  "skbDeferMax", // net.core.skb_defer_max: skb_attempt_defer_free's per-CPU list limit (kick at half, 0 = no deferral)
  "autogroup", // kernel.sched_autogroup_enabled: 1 = the bench's threads share one task group (calc_group_shares), kernel threads stay in the root group
] as const;

/** Kernel knobs a profile may set; when it does not, the kernel's default (derived from other figures) applies. */
export const OPTIONAL_FIGURES = [
  "netdevBudgetUsecs", // net.core.netdev_budget_usecs; default 2 * USEC_PER_SEC / HZ (netdevBudgetUsecsOf)
] as const;

export type CoreFigure = (typeof CORE_FIGURES)[number];
export type HvFigure = (typeof HV_FIGURES)[number];
export type OptionalFigure = (typeof OPTIONAL_FIGURES)[number];
export type HostPathFigure = (typeof HOST_PATH_FIGURES)[number];
export type Figures = Record<CoreFigure, number> &
  Partial<Record<HvFigure, number>> &
  Partial<Record<HostPathFigure, number>> &
  Partial<Record<OptionalFigure, number>>;

/** net.core.netdev_budget_usecs: the profile's value, else the kernel default 2 * USEC_PER_SEC / HZ (2 jiffies). */
export function netdevBudgetUsecsOf(f: Figures): number {
  return f.netdevBudgetUsecs ?? Math.floor((2 * 1e6) / f.hz);
}

export const FAIR_CLASSES = ["eevdf", "cfs"] as const;
export type { FairClass } from "./kernel/sched.js";

export const SOFTIRQ_POLICIES = ["pre-4.9", "4.9", "6.5"] as const;
/**
 * Which invoke_softirq rule the kernel follows at irq exit: "pre-4.9" always runs pending softirqs,
 * "4.9" skips them while ksoftirqd is runnable ("softirq: Let ksoftirqd do its job"), "6.5" is the
 * revert of that commit, which restores the pre-4.9 rule.
 */
export type SoftirqPolicy = (typeof SOFTIRQ_POLICIES)[number];

const figureSchema = z.object({ value: z.number().finite(), provenance: z.string().min(1) });
const fileSchema = z.object({
  name: z.string().min(1),
  description: z.string().min(1),
  extends: z.string().optional(),
  softirqPolicy: z.object({ value: z.enum(SOFTIRQ_POLICIES), provenance: z.string().min(1) }).optional(),
  fairClass: z.object({ value: z.enum(FAIR_CLASSES), provenance: z.string().min(1) }).optional(),
  figures: z.record(z.string(), figureSchema),
  fit: z.unknown().optional(),
});

export interface Profile {
  name: string;
  description: string;
  softirqPolicy: SoftirqPolicy;
  fairClass: (typeof FAIR_CLASSES)[number];
  figures: Figures;
  provenance: Record<string, string>;
}

/** A profile is a few KiB of figures; anything above 1 MiB is not one. */
const MAX_PROFILE_BYTES = 1024 * 1024;

const here = dirname(fileURLToPath(import.meta.url));
/** profiles/ at the package root: the same relative place from src/model and dist/model. */
export const PROFILES_DIR = resolve(here, "..", "..", "profiles");

function profilePath(nameOrPath: string): string {
  if (nameOrPath.includes("/") || nameOrPath.endsWith(".json")) return resolve(nameOrPath);
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(nameOrPath))
    throw new InputError(`invalid profile name '${nameOrPath}': use letters, digits, '.', '_' or '-'`);
  return join(PROFILES_DIR, `${nameOrPath}.json`);
}

/** Load a profile by name (profiles/<name>.json) or path, resolving `extends`; throws InputError. */
export function loadProfile(nameOrPath: string, seen: string[] = []): Profile {
  const path = profilePath(nameOrPath);
  if (!existsSync(path)) throw new InputError(`unknown profile '${nameOrPath}' (no file ${path})`);
  if (seen.includes(path)) throw new InputError(`profile '${nameOrPath}' extends itself`);
  // read with a size limit and validated by the schema, as every file napilab reads
  const file = readJsonFile(path, fileSchema, "profile", MAX_PROFILE_BYTES);
  const base = file.extends ? loadProfile(file.extends, [...seen, path]) : undefined;
  const figures: Record<string, number> = { ...(base?.figures ?? {}) };
  const provenance: Record<string, string> = { ...(base?.provenance ?? {}) };
  for (const [key, fig] of Object.entries(file.figures)) {
    if (
      !(CORE_FIGURES as readonly string[]).includes(key) &&
      !(HV_FIGURES as readonly string[]).includes(key) &&
      !(HOST_PATH_FIGURES as readonly string[]).includes(key) &&
      !(OPTIONAL_FIGURES as readonly string[]).includes(key)
    )
      throw new InputError(`profile '${nameOrPath}' has an unknown figure '${key}'`);
    figures[key] = fig.value;
    provenance[key] = fig.provenance;
  }
  const policy = file.softirqPolicy?.value ?? base?.softirqPolicy;
  if (file.softirqPolicy) provenance.softirqPolicy = file.softirqPolicy.provenance;
  if (file.fairClass) provenance.fairClass = file.fairClass.provenance;
  const profile = {
    name: file.name,
    description: file.description,
    softirqPolicy: policy ?? "6.5",
    fairClass: file.fairClass?.value ?? base?.fairClass ?? "eevdf",
    figures: figures as Figures,
    provenance,
  };
  if (seen.length === 0) checkComplete(profile, nameOrPath);
  return profile;
}

function checkComplete(p: Profile, label: string): void {
  const missing = CORE_FIGURES.filter((k) => typeof p.figures[k] !== "number");
  if (missing.length > 0) throw new InputError(`profile '${label}' lacks figures: ${missing.join(", ")}`);
  for (const [k, v] of Object.entries(p.figures)) {
    if (v < 0) throw new InputError(`profile '${label}': figure '${k}' must not be negative`);
  }
  if (p.figures.hz < 100 || p.figures.hz > 1000)
    throw new InputError(`profile '${label}': hz must be 100..1000`);
}

/** Check the hypervisor figures are present (the seed experiment needs them). */
export function requireHvFigures(p: Profile): Record<HvFigure, number> {
  const missing = HV_FIGURES.filter((k) => typeof p.figures[k] !== "number");
  if (missing.length > 0)
    throw new InputError(`profile '${p.name}' lacks hypervisor figures: ${missing.join(", ")}`);
  return p.figures as Record<HvFigure, number>;
}

/** Check the host-path figures are present (the bench mirror needs them). */
export function requireHostPathFigures(p: Profile): Record<HostPathFigure, number> {
  const missing = HOST_PATH_FIGURES.filter((k) => typeof p.figures[k] !== "number");
  if (missing.length > 0)
    throw new InputError(
      `profile '${p.name}' lacks the host-path figures of the bench mirror: ${missing.join(", ")} (extend 'veth-host')`,
    );
  return p.figures as Record<HostPathFigure, number>;
}
