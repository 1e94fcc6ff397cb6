/**
 * The one builder of model hosts: turns a HostSpec (spec.ts) into the running mechanism objects of
 * src/model/kernel, wired as the spec says. Every scenario builds its host here, so the order in
 * which objects are made (and with it task ids, random draws and event order) is the same for all:
 * kernels, flows and sockets, NIC queues and their flow sources, the guest's virtio queue, veths,
 * NAPI kthreads, irq threads, NAPI knobs, hypervisor threads, receivers, senders, hogs; start()
 * then starts the kernels and wakes receivers, hypervisor threads, senders and hogs, and arms the
 * NIC interrupts, in that order.
 */
import type { SchedPolicy } from "../../core/vocabulary.js";
import { applyGroupShares } from "../kernel/autogroup.js";
import {
  type BusyPollSettings,
  blockingReceiverBody,
  epollReceiverBody,
  nonblockingReceiverBody,
} from "../kernel/busypoll.js";
import { EventQueue } from "../kernel/events.js";
import {
  attachVcpu,
  ForwardToTun,
  TunQueue,
  VirtioRxQueue,
  vcpuBody,
  vhostBody,
} from "../kernel/hypervisor.js";
import { Kernel } from "../kernel/kernel.js";
import { Napi, napiSetMode, napiThreadBody } from "../kernel/napi.js";
import { attachNapiKnobs } from "../kernel/napi-timer.js";
import { RxQueue } from "../kernel/nic.js";
import { busyPollReceiverBody, dutyBody, hogBody, netserverBody } from "../kernel/receivers.js";
import { hashInts, Rng } from "../kernel/rng.js";
import { Backlog, RpsSink } from "../kernel/rps.js";
import { SenderBody } from "../kernel/sender.js";
import { SkbDeferList } from "../kernel/skbfree.js";
import { type Flow, type FrameSink, LocalStack, UdpSocket } from "../kernel/socket.js";
import type { Body, Task } from "../kernel/task.js";
import { type IrqThread, threadIrqs } from "../kernel/threadirqs.js";
import { VETH_RING_SIZE, VethRx } from "../kernel/veth.js";
import { type Framing, udpFraming } from "../kernel/wire.js";
import { checkHostSpec, type HostSpec, ipv4, type NapiSpec, type NicSpec, type VethSpec } from "./spec.js";

export interface BuiltNic {
  spec: NicSpec;
  kernel: Kernel;
  queues: RxQueue[];
  napis: Napi[];
  /** The irq/N threads (threadirqs only). */
  irqThreads: IrqThread[];
}

export interface BuiltVeth {
  spec: VethSpec;
  kernel: Kernel;
  rx: VethRx;
  napi: Napi;
}

export interface BuiltHypervisor {
  tun: TunQueue;
  virtio: VirtioRxQueue;
  napi: Napi;
  vhost: Task;
  vcpu: Task;
}

export interface BuiltSender {
  kernel: Kernel;
  task: Task;
  /** The sendmmsg loop, made when the task first runs. */
  body: SenderBody | null;
}

/** A built host: the mechanism objects of a spec, before start(). */
export interface Host {
  spec: HostSpec;
  q: EventQueue;
  rng: Rng;
  kernels: Kernel[];
  framing: Framing;
  flows: Flow[];
  /** The UDP receive stack holding the flows' sockets (behind RPS: the one process_backlog runs). */
  stack: LocalStack;
  /** One per CPU of the sockets' kernel when a device uses RPS, else none. */
  backlogs: Backlog[];
  /** One per CPU of the sockets' kernel when flows.allocCpu is set (skb_attempt_defer_free), else none. */
  deferLists: SkbDeferList[];
  nics: BuiltNic[];
  veths: BuiltVeth[];
  hypervisor: BuiltHypervisor | null;
  receivers: Task[];
  senders: BuiltSender[];
  hogs: Task[];
  kernel(name: string): Kernel;
  /** Start the kernels' ticks, wake the tasks, arm the NICs' interrupts. Call once. */
  start(): void;
  /**
   * Zero the counters at the start of a measurement window: the kernels' (CPUs, tasks), the
   * backlogs', NIC queues' (after accounting the arrivals so far), NAPIs', irq threads' and veths'.
   * Sockets and the sender keep counting: read their differences.
   */
  resetStats(): void;
}

const OTHER: SchedPolicy = { policy: "other", nice: 0 };

/** Build the host a spec describes. Throws InputError (naming the field) for a spec that cannot be built. */
export function buildHost(spec: HostSpec): Host {
  checkHostSpec(spec);
  const f = spec.profile.figures;
  const q = new EventQueue();
  const rng = new Rng(spec.seed);
  const kernels = spec.kernels.map(
    (ks) =>
      new Kernel(q, {
        name: ks.name,
        cpus: ks.cpus,
        figures: f,
        policy: ks.softirqPolicy,
        fairClass: ks.fairClass,
        ...(ks.virtual ? { virtual: true } : {}),
      }),
  );
  const kernel = (name: string): Kernel => {
    const k = kernels.find((kk) => kk.name === name);
    if (!k) throw new Error(`host has no kernel '${name}'`);
    return k;
  };

  // the flows and their sockets, on the kernel that receives them
  const fs = spec.flows;
  const sk = kernel(fs.kernel);
  const framing = udpFraming(fs.payloadBytes, f.mtu);
  const flows: Flow[] = [];
  const rpsOn = [...(spec.nics ?? []), ...(spec.veths ?? [])].some((d) => (d.rpsCpus?.length ?? 0) > 0);
  // behind RPS, the stack after GRO runs in the target CPU's process_backlog
  const stack = rpsOn ? new LocalStack(sk, flows, { gro: false }) : new LocalStack(sk, flows);
  const backlogs = rpsOn ? sk.cpus.map((cpu) => new Backlog(sk, cpu, stack)) : [];
  const truesize = fs.truesizeBytes ?? framing.frags * (f.skbOverheadBytes + f.rxBufferBytes);
  const hashKey = rng.nextU32();
  const [srcIp, dstIp] = [ipv4(fs.src.ip), ipv4(fs.dst.ip)];
  for (let i = 0; i < fs.count; i++) {
    const ports = [fs.src.port + i * fs.src.portStep, fs.dst.port + i * fs.dst.portStep];
    const hash = hashInts(hashKey, [srcIp, dstIp, ...ports]);
    const socket = new UdpSocket(i, f.rcvbufBytes, truesize);
    flows.push({ id: i, framing, rateDps: fs.ratePps / fs.count, hash, socket, residue: 0 });
  }
  const sinkFor = (k: Kernel, rpsCpus: number[] | null | undefined): FrameSink =>
    rpsCpus && rpsCpus.length > 0 ? new RpsSink(k, flows, rpsCpus, backlogs) : stack;

  // NICs: one RxQueue and NAPI per queue; flows from the wire spread over the queues by RSS hash
  const hv = spec.hypervisor;
  const tun = hv ? new TunQueue(hv.tunQueueLen) : null;
  const nics: BuiltNic[] = (spec.nics ?? []).map((ns) => {
    const k = kernel(ns.kernel);
    const sink = ns.deliver === "tun" ? new ForwardToTun(k, tun as TunQueue) : sinkFor(k, ns.rpsCpus);
    const queues: RxQueue[] = [];
    const napis: Napi[] = [];
    ns.queues.forEach((qs, i) => {
      const rxq = new RxQueue(k, i, ns.ringSize ?? f.ringSize, qs.irqCpu, sink);
      const napi = new Napi(k, i + 1, `${ns.dev}-rx-${i}`, rxq, f.napiWeight);
      rxq.napi = napi;
      queues.push(rxq);
      napis.push(napi);
    });
    return { spec: ns, kernel: k, queues, napis, irqThreads: [] };
  });
  const entryNic = nics.find((n) => n.spec.dev === fs.device);
  if (entryNic) {
    const nq = entryNic.queues.length;
    for (const fl of flows) (entryNic.queues[fl.hash % nq] as RxQueue).addSource(fl, rng.next());
  }

  // the guest's virtio-net rx queue, filled by vhost from the tun
  let virtio: VirtioRxQueue | null = null;
  let guestNapi: Napi | null = null;
  if (hv) {
    virtio = new VirtioRxQueue(kernel(hv.guest), kernel(hv.host), stack, flows, hv.virtioRingSize);
    guestNapi = new Napi(kernel(hv.guest), 1, `${hv.dev}-rx-0`, virtio, f.napiWeight);
    virtio.napi = guestNapi;
  }

  const veths: BuiltVeth[] = (spec.veths ?? []).map((vs) => {
    const k = kernel(vs.kernel);
    const rx = new VethRx(
      k,
      Math.round(vs.ringSize ?? f.vethRingSize ?? VETH_RING_SIZE),
      sinkFor(k, vs.rpsCpus),
    );
    const napi = new Napi(k, 1, `${vs.dev}-rx-0`, rx, f.napiWeight);
    rx.napi = napi;
    return { spec: vs, kernel: k, rx, napi };
  });

  // skb_attempt_defer_free: read skbs go back to the CPU that allocated them, flushed in its NET_RX
  // (net_rx_action -> skb_defer_free_flush; process_backlog and veth_poll run there too)
  const deferLists = fs.allocCpu === undefined ? [] : sk.cpus.map((cpu) => new SkbDeferList(sk, cpu));
  if (fs.allocCpu !== undefined) {
    for (const v of veths) if (v.kernel === sk) v.rx.deferLists = deferLists;
    backlogs.forEach((b, i) => {
      b.deferList = deferLists[i] as SkbDeferList;
    });
    for (const fl of flows) (fl.socket as UdpSocket).freeTo = deferLists[fs.allocCpu] as SkbDeferList;
  }

  // NAPI modes: a napi/<dev>-<id> kthread for each NAPI that is not in softirq mode
  const setMode = (k: Kernel, dev: string, n: Napi, ns: NapiSpec, startCpu: number | undefined) =>
    napiSetMode(n, ns.mode, (napi) => {
      const t = k.createTask(
        `napi/${dev}-${napi.id}`,
        "napi",
        ns.threadPolicy ?? OTHER,
        ns.threadCpus ?? null,
        {
          body: (task) => napiThreadBody(k, napi, task),
          preemptible: false,
        },
      );
      if (startCpu !== undefined) t.cpu = startCpu;
      return t;
    });
  for (const nic of nics)
    nic.napis.forEach((n, i) => {
      setMode(nic.kernel, nic.spec.dev, n, nic.spec.napi, nic.spec.queues[i]?.threadCpu);
    });
  if (hv && guestNapi) setMode(kernel(hv.guest), hv.dev, guestNapi, hv.napi, undefined);
  for (const v of veths) setMode(v.kernel, v.spec.dev, v.napi, v.spec.napi, v.spec.napi.threadCpu);
  for (const nic of nics)
    if (nic.spec.threadirqs)
      nic.irqThreads = threadIrqs(nic.kernel, nic.queues, {
        dev: nic.spec.dev,
        policy: nic.spec.threadirqs.policy,
      });
  for (const nic of nics) {
    const kn = nic.spec.knobs;
    if (kn) for (const n of nic.napis) attachNapiKnobs(n, kn);
  }

  // the hypervisor's threads: vhost-net worker and the vCPU (both unpinned fair tasks, as QEMU starts them)
  let hypervisor: BuiltHypervisor | null = null;
  if (hv && virtio && guestNapi) {
    const host = kernel(hv.host);
    const vq = virtio;
    const vhost = host.createTask("vhost-net", "vhost", OTHER, null, {
      body: (t) => vhostBody(host, t, tun as TunQueue, vq, flows),
      preemptible: false,
    });
    vhost.cpu = hv.vhostCpu;
    const guestCpu = kernel(hv.guest).cpus[0];
    if (!guestCpu) throw new Error("guest has no CPU");
    const vcpu = host.createTask("vcpu0", "vcpu", OTHER, null, {
      body: () => vcpuBody(host, guestCpu),
      preemptible: true,
    });
    vcpu.cpu = hv.vcpuCpu;
    attachVcpu(host, vcpu, guestCpu);
    hypervisor = { tun: tun as TunQueue, virtio: vq, napi: guestNapi, vhost, vcpu };
  }

  // one receiver per flow; a busy poller polls the NAPI its socket's packets came through
  const napiOf = (fl: Flow): Napi => {
    if (hypervisor && fs.kernel === hv?.guest) return hypervisor.napi;
    if (entryNic) return entryNic.napis[fl.hash % entryNic.napis.length] as Napi;
    return (veths.find((v) => v.spec.dev === fs.device) as BuiltVeth).napi;
  };
  const rs = spec.receivers;
  const receivers: Task[] = !rs
    ? []
    : flows.map((fl, i) => {
        const sock = fl.socket as UdpSocket;
        const napi = napiOf(fl);
        const size = fs.payloadBytes;
        const v = rs.recv;
        const t = sk.createTask(`${rs.name}-${i}`, "receiver", rs.policy ?? OTHER, rs.cpus, {
          body: (task): Body => {
            if (v.kind === "netserver") return netserverBody(sk, task, sock, stack, size);
            if (v.kind === "busy-read")
              return busyPollReceiverBody(sk, task, sock, stack, size, napi, v.busyReadNs);
            const s: BusyPollSettings = {
              napi,
              busyNs: v.busyReadNs,
              prefer: v.preferBusyPoll,
              budget: v.busyPollBudget,
            };
            if (v.kind === "nonblocking") return nonblockingReceiverBody(sk, task, sock, stack, size, s);
            if (v.kind === "epoll") return epollReceiverBody(sk, task, sock, stack, size, s);
            if (v.busyReadNs > 0) return blockingReceiverBody(sk, task, sock, stack, size, s);
            return netserverBody(sk, task, sock, stack, size);
          },
          preemptible: true,
        });
        if (rs.startCpus && rs.startCpus.length > 0) t.cpu = rs.startCpus[i % rs.startCpus.length] as number;
        return t;
      });

  const senders: BuiltSender[] = (spec.senders ?? []).map((ss) => {
    const k = kernel(ss.kernel);
    const veth = (veths.find((v) => v.spec.dev === ss.device) as BuiltVeth).rx;
    const built: BuiltSender = { kernel: k, task: null as unknown as Task, body: null };
    built.task = k.createTask(ss.name, "sender", OTHER, ss.cpus, {
      body: (task) => {
        built.body = new SenderBody(k, task, {
          flows,
          veth,
          msgsPerCall: ss.msgsPerCall,
          ratePps: ss.ratePps,
          cutOnDrop: ss.cutOnDrop ?? false,
        });
        return built.body;
      },
      preemptible: true,
    });
    built.task.cpu = ss.startCpu;
    return built;
  });

  const hogKernels = (spec.hogs ?? []).map((hs) => kernel(hs.kernel));
  const hogs: Task[] = (spec.hogs ?? []).map((hs, i) => {
    const hk = hogKernels[i] as Kernel;
    const duty = hs.duty;
    const t = hk.createTask(hs.name, "hog", hs.policy ?? OTHER, hs.cpus, {
      body: duty === undefined ? () => hogBody() : (task) => dutyBody(hk, task, duty),
      preemptible: true,
    });
    t.cpu = hs.startCpu;
    return t;
  });

  // autogroup: one session's tasks share a task group's weight (calc_group_shares), before first wake
  const ag = spec.autogroup;
  if (ag)
    applyGroupShares([
      ...senders.filter((b) => ag.senders.includes(b.task.name)).map((b) => b.task),
      ...(ag.receivers ? receivers : []),
    ]);

  let started = false;
  return {
    spec,
    q,
    rng,
    kernels,
    framing,
    flows,
    stack,
    backlogs,
    deferLists,
    nics,
    veths,
    hypervisor,
    receivers,
    senders,
    hogs,
    kernel,
    start() {
      if (started) throw new Error("host already started");
      started = true;
      for (const k of kernels) k.start();
      for (const t of receivers) sk.wake(t);
      if (hypervisor) {
        const host = kernel(hv?.host as string);
        host.wake(hypervisor.vhost); // it runs once, finds the tun ring empty and waits on it
        host.wake(hypervisor.vcpu); // boots the guest, which starts its netservers and halts
      }
      for (const s of senders) s.kernel.wake(s.task);
      for (const [i, t] of hogs.entries()) (hogKernels[i] as Kernel).wake(t);
      for (const nic of nics) for (const rxq of nic.queues) rxq.armIrq();
    },
    resetStats() {
      for (const k of kernels) k.resetStats();
      for (const b of backlogs) b.resetStats();
      for (const d of deferLists) d.resetStats();
      for (const nic of nics) {
        for (const rxq of nic.queues) rxq.resetStats();
        for (const n of nic.napis) {
          n.polls = 0;
          n.packets = 0;
          n.tun?.resetStats();
        }
        for (const it of nic.irqThreads) it.runs = 0;
      }
      for (const v of veths) {
        v.rx.resetStats();
        v.napi.polls = 0;
        v.napi.packets = 0;
      }
      if (hypervisor) {
        hypervisor.napi.polls = 0;
        hypervisor.napi.packets = 0;
      }
    },
  };
}
