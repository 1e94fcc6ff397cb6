/**
 * A model host as plain data: its kernels and CPUs, NIC queues with their IRQ CPUs, veth pairs, the
 * NAPI mode and kthread placement of each device, RPS, the flows and their sockets, the receiver,
 * sender and hog tasks, and the hypervisor path of a guest. A scenario writes one of these and hands
 * it to buildHost (build.ts); nothing in it is code, so a spec can be printed, diffed or stored.
 * checkHostSpec refuses a spec that names a CPU, kernel or device that is not there.
 */
import { InputError } from "../../core/errors.js";
import { type NapiMode, type SchedPolicy, validateSchedPolicy } from "../../core/vocabulary.js";
import type { FairClass } from "../kernel/sched.js";
import type { Profile, SoftirqPolicy } from "../profile.js";

export interface HostSpec {
  /** Cost figures (and their provenance) every kernel of the host runs with. */
  profile: Profile;
  /** Seed of the host's random numbers (flow hash key, source phases). */
  seed: number;
  /** The kernels; a host and its guest share one clock. */
  kernels: KernelSpec[];
  flows: FlowsSpec;
  nics?: NicSpec[];
  veths?: VethSpec[];
  /** The seed's path into a guest: host NIC -> tun -> vhost-net -> virtio-net -> guest NAPI. */
  hypervisor?: HypervisorSpec;
  /** One receiver task per flow, on the kernel that holds the flows' sockets. */
  receivers?: ReceiversSpec;
  senders?: SenderTaskSpec[];
  /** CPU hogs and other work on the host: always runnable, or wanting a share of their CPU. */
  hogs?: HogSpec[];
  /**
   * Autogroup (kernel.sched_autogroup_enabled): the senders and receivers of one session share one
   * task group's weight (calc_group_shares); kthreads stay in the root group.
   */
  autogroup?: { senders: string[]; receivers: boolean };
}

export interface KernelSpec {
  name: string;
  cpus: number;
  softirqPolicy: SoftirqPolicy;
  fairClass: FairClass;
  /** A guest's CPUs: they run only while a host vCPU thread is in them. */
  virtual?: boolean;
}

/** An address and port; flow i uses port + i * portStep. */
export interface Endpoint {
  ip: string;
  port: number;
  portStep: number;
}

export interface FlowsSpec {
  count: number;
  /** UDP payload bytes of every datagram. */
  payloadBytes: number;
  /** Datagrams per second of all flows together arriving from the wire; 0 when a sender task makes them. */
  ratePps: number;
  src: Endpoint;
  dst: Endpoint;
  /** The device the flows come in on: a NIC (RSS spreads them over its queues) or a veth. */
  device: string;
  /** The kernel whose UDP sockets receive them. */
  kernel: string;
  /** What each datagram charges the socket's buffer; default: the NIC's rx buffers per fragment. */
  truesizeBytes?: number;
  /**
   * skb->alloc_cpu of the flows' skbs (the sending CPU): when set, a reader on another CPU hands each
   * read skb back to that CPU's defer list (skb_attempt_defer_free), flushed in its NET_RX.
   */
  allocCpu?: number;
}

export interface NapiSpec {
  mode: NapiMode;
  /** Scheduling policy of the napi/<dev>-<id> kthreads (default SCHED_OTHER nice 0). */
  threadPolicy?: SchedPolicy;
  /** Affinity of the kthreads (null: all CPUs, the kernel's default). */
  threadCpus?: number[] | null;
}

export interface QueueSpec {
  /** /proc/irq/N/smp_affinity_list of the queue's interrupt: the CPU it is delivered to. */
  irqCpu: number;
  /** CPU the queue's NAPI kthread starts on (default: the first CPU it may run on). */
  threadCpu?: number;
}

/** The per-NAPI knobs of the busy-polling family (netdev napi-set), on every NAPI of a device. */
export interface NapiKnobsSpec {
  deferHardIrqs: number;
  groFlushTimeoutNs: number;
  irqSuspendTimeoutNs: number;
}

export interface NicSpec {
  kernel: string;
  dev: string;
  /** rx descriptors per queue (default: the profile's ringSize). */
  ringSize?: number;
  queues: QueueSpec[];
  napi: NapiSpec;
  /** rps_cpus of every rx queue (null or absent: no RPS). */
  rpsCpus?: number[] | null;
  /** Where received frames go: the kernel's own stack (default) or forwarded into the hypervisor's tun. */
  deliver?: "stack" | "tun";
  /** Forced irq threading (threadirqs) of the device's rx interrupts. */
  threadirqs?: { policy?: SchedPolicy };
  knobs?: NapiKnobsSpec;
}

export interface VethSpec {
  kernel: string;
  /** The receiving end of the pair. */
  dev: string;
  /** The ring of the receiving end (default: the profile's vethRingSize, else 256). */
  ringSize?: number;
  napi: NapiSpec & { threadCpu?: number };
  rpsCpus?: number[] | null;
}

export interface HypervisorSpec {
  host: string;
  guest: string;
  /** txqueuelen of the tun device. */
  tunQueueLen: number;
  virtioRingSize: number;
  /** The guest's virtio-net device name and its NAPI. */
  dev: string;
  napi: NapiSpec;
  /** Host CPUs the vhost-net worker and the vCPU thread start on (both unpinned). */
  vhostCpu: number;
  vcpuCpu: number;
}

/** How a receiver waits for its socket. */
export type RecvSpec =
  /** netserver: blocking recv(), no busy polling. */
  | { kind: "netserver" }
  /** SO_BUSY_POLL on a blocking recv(), as the plain flood models it (receivers.ts). */
  | { kind: "busy-read"; busyReadNs: number }
  /** The socket busy-polling family (busypoll.ts); blocking with busyReadNs 0 is netserver. */
  | {
      kind: "blocking" | "nonblocking" | "epoll";
      busyReadNs: number;
      preferBusyPoll: boolean;
      busyPollBudget: number;
    };

export interface ReceiversSpec {
  /** Receiver i is called `${name}-${i}`. */
  name: string;
  policy?: SchedPolicy;
  /** Affinity (null: all CPUs). */
  cpus: number[] | null;
  /** CPU receiver i starts on: startCpus[i mod length] (default: the first CPU it may run on). */
  startCpus?: number[];
  recv: RecvSpec;
}

export interface SenderTaskSpec {
  kernel: string;
  name: string;
  cpus: number[] | null;
  startCpu: number;
  /** The veth it transmits into (veth_xmit), cycling over every flow. */
  device: string;
  /** Messages per sendmmsg call. */
  msgsPerCall: number;
  /** Datagrams per second to pace to; 0 = flood. */
  ratePps: number;
  /** AF_PACKET's packet_snd: a frame veth drops ends the sendmmsg call (-ENOBUFS); a UDP socket's does not. */
  cutOnDrop?: boolean;
}

export interface HogSpec {
  kernel: string;
  name: string;
  cpus: number[] | null;
  startCpu: number;
  /** Scheduling policy (default SCHED_OTHER nice 0). */
  policy?: SchedPolicy;
  /** Share of its CPU it wants (0..1, replayed other work); default: always runnable. */
  duty?: number;
}

/** IPv4 dotted quad to its 32-bit value (unsigned), as the flow hash reads it. */
export function ipv4(text: string): number {
  const parts = text.split(".");
  const bytes = parts.map(Number);
  if (parts.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255))
    throw new InputError(`host spec: '${text}' is not an IPv4 address`);
  return (
    (((bytes[0] as number) * 256 + (bytes[1] as number)) * 256 + (bytes[2] as number)) * 256 +
    (bytes[3] as number)
  );
}

/**
 * Refuse a spec that cannot be built: unknown kernels or devices, CPUs a kernel does not have,
 * duplicate names, a device without queues. One InputError naming the field.
 */
export function checkHostSpec(s: HostSpec): void {
  const bad = (field: string, why: string): never => {
    throw new InputError(`host spec: ${field} ${why}`);
  };
  const int = (v: number, field: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max)
      bad(field, `must be an integer ${min} to ${max}, got ${v}`);
  };
  if (!Number.isInteger(s.seed)) bad("seed", `must be an integer, got ${s.seed}`);
  if (s.kernels.length === 0) bad("kernels", "needs at least one kernel");
  const kernels = new Map<string, KernelSpec>();
  s.kernels.forEach((k, i) => {
    if (kernels.has(k.name)) bad(`kernels[${i}].name`, `'${k.name}' is a duplicate`);
    int(k.cpus, `kernels[${i}].cpus`, 1, 1024);
    kernels.set(k.name, k);
  });
  const kernel = (name: string, field: string): KernelSpec =>
    kernels.get(name) ?? bad(field, `names kernel '${name}', which the spec does not have`);
  const cpu = (c: number, k: KernelSpec, field: string) => {
    if (!Number.isInteger(c) || c < 0 || c >= k.cpus)
      bad(
        field,
        `is CPU ${c}, but kernel ${k.name} has ${k.cpus === 1 ? "only CPU 0" : `CPUs 0-${k.cpus - 1}`}`,
      );
  };
  const cpuList = (cs: number[] | null | undefined, k: KernelSpec, field: string) => {
    if (!cs) return;
    if (cs.length === 0) bad(field, "is empty (use null for all CPUs)");
    for (const [i, c] of cs.entries()) cpu(c, k, `${field}[${i}]`);
  };
  const policy = (p: SchedPolicy | undefined, field: string) => {
    if (!p) return;
    try {
      validateSchedPolicy(p);
    } catch (e) {
      bad(field, (e as Error).message);
    }
  };
  const napi = (n: NapiSpec, k: KernelSpec, field: string) => {
    cpuList(n.threadCpus, k, `${field}.threadCpus`);
    policy(n.threadPolicy, `${field}.threadPolicy`);
  };

  const devices = new Map<string, { kind: "nic" | "veth" | "virtio"; kernel: string }>();
  const device = (dev: string, kind: "nic" | "veth" | "virtio", k: string, field: string) => {
    if (devices.has(dev)) bad(field, `'${dev}' is a duplicate device`);
    devices.set(dev, { kind, kernel: k });
  };
  (s.nics ?? []).forEach((n, i) => {
    const at = `nics[${i}]`;
    const k = kernel(n.kernel, `${at}.kernel`);
    device(n.dev, "nic", n.kernel, `${at}.dev`);
    if (n.queues.length === 0) bad(`${at}.queues`, "needs at least one queue");
    if (n.queues.length > 4096) bad(`${at}.queues`, `has ${n.queues.length} queues, more than 4096`);
    n.queues.forEach((qs, j) => {
      cpu(qs.irqCpu, k, `${at}.queues[${j}].irqCpu`);
      if (qs.threadCpu !== undefined) cpu(qs.threadCpu, k, `${at}.queues[${j}].threadCpu`);
    });
    if (n.ringSize !== undefined) int(n.ringSize, `${at}.ringSize`, 1, 1 << 20);
    napi(n.napi, k, `${at}.napi`);
    cpuList(n.rpsCpus, k, `${at}.rpsCpus`);
    if (n.deliver === "tun" && !s.hypervisor) bad(`${at}.deliver`, "is tun, but the spec has no hypervisor");
    if (n.deliver === "tun" && n.rpsCpus?.length)
      bad(`${at}.rpsCpus`, "is set on a device that forwards to tun");
    policy(n.threadirqs?.policy, `${at}.threadirqs.policy`);
  });
  (s.veths ?? []).forEach((v, i) => {
    const at = `veths[${i}]`;
    const k = kernel(v.kernel, `${at}.kernel`);
    device(v.dev, "veth", v.kernel, `${at}.dev`);
    if (v.ringSize !== undefined) int(v.ringSize, `${at}.ringSize`, 1, 1 << 20);
    napi(v.napi, k, `${at}.napi`);
    if (v.napi.threadCpu !== undefined) cpu(v.napi.threadCpu, k, `${at}.napi.threadCpu`);
    cpuList(v.rpsCpus, k, `${at}.rpsCpus`);
  });
  const hv = s.hypervisor;
  if (hv) {
    const host = kernel(hv.host, "hypervisor.host");
    const guest = kernel(hv.guest, "hypervisor.guest");
    if (host === guest) bad("hypervisor.guest", "must be another kernel than the host");
    if (!guest.virtual) bad("hypervisor.guest", `names kernel '${guest.name}', which is not virtual`);
    if (guest.cpus !== 1) bad("hypervisor.guest", "must have one vCPU (the model runs one vCPU thread)");
    device(hv.dev, "virtio", hv.guest, "hypervisor.dev");
    int(hv.tunQueueLen, "hypervisor.tunQueueLen", 1, 1 << 20);
    int(hv.virtioRingSize, "hypervisor.virtioRingSize", 1, 1 << 20);
    napi(hv.napi, guest, "hypervisor.napi");
    cpu(hv.vhostCpu, host, "hypervisor.vhostCpu");
    cpu(hv.vcpuCpu, host, "hypervisor.vcpuCpu");
    if (!(s.nics ?? []).some((n) => n.deliver === "tun" && n.kernel === hv.host))
      bad("hypervisor", `has no NIC of kernel ${hv.host} delivering into its tun`);
  }

  const fl = s.flows;
  int(fl.count, "flows.count", 1, 1_000_000);
  int(fl.payloadBytes, "flows.payloadBytes", 1, 65_507);
  if (!Number.isFinite(fl.ratePps) || fl.ratePps < 0)
    bad("flows.ratePps", `must be 0 or more, got ${fl.ratePps}`);
  for (const [name, e] of [
    ["src", fl.src],
    ["dst", fl.dst],
  ] as const) {
    ipv4(e.ip);
    int(e.port, `flows.${name}.port`, 0, 65_535);
    int(e.port + (fl.count - 1) * e.portStep, `flows.${name}.port of the last flow`, 0, 65_535);
  }
  const sockets = kernel(fl.kernel, "flows.kernel");
  const entry =
    devices.get(fl.device) ??
    bad("flows.device", `names device '${fl.device}', which the spec does not have`);
  if (entry.kind === "virtio")
    bad("flows.device", `'${fl.device}' is the guest's device; flows enter on a NIC or veth`);
  if (entry.kind === "nic" && fl.ratePps === 0)
    bad("flows.ratePps", `is 0, but the flows arrive from the wire on ${fl.device}`);
  if (entry.kind === "veth" && !(s.senders ?? []).some((t) => t.device === fl.device))
    bad("flows.device", `is veth ${fl.device}, but no sender transmits into it`);
  if (hv ? fl.kernel !== hv.guest && fl.kernel !== entry.kernel : fl.kernel !== entry.kernel)
    bad("flows.kernel", `is ${fl.kernel}, but the flows' path from ${fl.device} does not reach it`);
  [...(s.nics ?? []), ...(s.veths ?? [])].forEach((d) => {
    if (d.rpsCpus?.length && d.kernel !== fl.kernel)
      bad("flows.kernel", `is ${fl.kernel}, but RPS on ${d.dev} steers into kernel ${d.kernel}'s backlogs`);
  });
  if (fl.truesizeBytes !== undefined) int(fl.truesizeBytes, "flows.truesizeBytes", 1, 1 << 30);
  if (fl.allocCpu !== undefined) cpu(fl.allocCpu, sockets, "flows.allocCpu");

  const r = s.receivers;
  if (r) {
    policy(r.policy, "receivers.policy");
    cpuList(r.cpus, sockets, "receivers.cpus");
    cpuList(r.startCpus, sockets, "receivers.startCpus");
    const v = r.recv;
    if (v.kind !== "netserver") int(v.busyReadNs, "receivers.recv.busyReadNs", 0, 1e9);
    if (v.kind !== "netserver" && v.kind !== "busy-read")
      int(v.busyPollBudget, "receivers.recv.busyPollBudget", 1, 65_535);
  }
  (s.senders ?? []).forEach((t, i) => {
    const at = `senders[${i}]`;
    const k = kernel(t.kernel, `${at}.kernel`);
    cpuList(t.cpus, k, `${at}.cpus`);
    cpu(t.startCpu, k, `${at}.startCpu`);
    const d = devices.get(t.device);
    if (d?.kind !== "veth") bad(`${at}.device`, `names '${t.device}', which is not a veth of the spec`);
    else if (d.kernel !== t.kernel) bad(`${at}.device`, `is a veth of kernel ${d.kernel}, not ${t.kernel}`);
    int(t.msgsPerCall, `${at}.msgsPerCall`, 1, 1 << 20);
    if (!Number.isFinite(t.ratePps) || t.ratePps < 0)
      bad(`${at}.ratePps`, `must be 0 or more, got ${t.ratePps}`);
  });
  (s.hogs ?? []).forEach((h, i) => {
    const k = kernel(h.kernel, `hogs[${i}].kernel`);
    cpuList(h.cpus, k, `hogs[${i}].cpus`);
    cpu(h.startCpu, k, `hogs[${i}].startCpu`);
    policy(h.policy, `hogs[${i}].policy`);
    if (h.duty !== undefined && !(h.duty > 0 && h.duty <= 1))
      bad(`hogs[${i}].duty`, `must be a share of the CPU in (0, 1], got ${h.duty}`);
  });
  for (const name of s.autogroup?.senders ?? [])
    if (!(s.senders ?? []).some((t) => t.name === name))
      bad("autogroup.senders", `names '${name}', which is not a sender of the spec`);
}
