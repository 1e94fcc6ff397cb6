/**
 * The hypervisor path of the seed experiment: the host forwards frames from its NIC into a tun
 * device (noqueue qdisc: straight into the tun ring), a vhost-net worker thread copies them into
 * the guest's virtio-net rx ring and signals the guest, and the guest's virtio-net driver polls
 * that ring with NAPI. The guest's CPU is a vCPU thread on the host (see vcpuBody).
 */
import type { Cpu } from "./cpu.js";
import { FlowQueue } from "./flowqueue.js";
import type { Kernel } from "./kernel.js";
import {
  type Napi,
  type NapiDriver,
  napiCompleteDone,
  napiSchedule,
  napiScheduleOn,
  napiSchedulePrep,
} from "./napi.js";
import { Batch, type Flow, type FrameSink, type LocalStack } from "./socket.js";
import { RESCHED, RUN_GUEST, SLEEP, SLEEPING, type StepBody, type Task } from "./task.js";

/** The tun device's queue (its ptr_ring of txqueuelen entries) and the vhost worker waiting on it. */
export class TunQueue {
  readonly queue = new FlowQueue();
  readonly size: number;
  drops = 0;
  /** vhost-net worker sleeping until the tun socket has data (vhost_poll on the tun file). */
  waiter: Task | null = null;

  constructor(size: number) {
    this.size = size;
  }
}

/**
 * Host side of a NIC queue: bridge/forward each frame to the tun device. tun_net_xmit puts it in
 * the tun ring (dropping when full) and sk_data_ready wakes the vhost worker.
 */
export class ForwardToTun implements FrameSink {
  constructor(
    private readonly host: Kernel,
    private readonly tun: TunQueue,
  ) {}

  cost(b: Batch): number {
    const f = this.host.f;
    return b.frames * ((f.forwardNs ?? 0) + (f.tunXmitNs ?? 0));
  }

  deliver(b: Batch): number {
    const tun = this.tun;
    for (let i = 0; i < b.n; i++) {
      const c = b.counts[i] as number;
      const ok = Math.max(0, Math.min(c, tun.size - tun.queue.length));
      tun.queue.push(b.flows[i] as number, ok, b.times[i] as number);
      tun.drops += c - ok;
    }
    const w = tun.waiter;
    if (w && w.state === SLEEPING && tun.queue.length > 0) {
      tun.waiter = null;
      this.host.wake(w);
      return this.host.f.wakeupNs;
    }
    return 0;
  }
}

/**
 * The guest's virtio-net receive queue: used-ring entries filled by vhost, polled by the guest's
 * NAPI (virtnet_poll). Interrupts are suppressed while NAPI runs (virtqueue_disable_cb) and enabled
 * again on completion (virtqueue_enable_cb), with the race check virtqueue_poll does.
 */
export class VirtioRxQueue implements NapiDriver {
  readonly ring = new FlowQueue();
  readonly size: number;
  napi!: Napi;
  /** The guest wants an interrupt for new buffers (callbacks enabled). */
  callbacks = true;
  /** vhost waits for the guest to post rx buffers (it enabled guest notifications). */
  vhostWaiting: Task | null = null;
  irqs = 0;
  kicks = 0;
  private batch = new Batch();
  private readonly irqAction = {
    name: "virtio-input",
    costNs: 0,
    // vring_interrupt -> skb_recv_done: virtqueue_disable_cb + napi_schedule
    handler: (c: Cpu) => {
      this.callbacks = false;
      napiSchedule(this.napi, c);
    },
  };

  constructor(
    private readonly guest: Kernel,
    private readonly host: Kernel,
    private readonly stack: LocalStack,
    private readonly flows: Flow[],
    size: number,
  ) {
    this.size = size;
    this.irqAction.costNs = guest.f.guestIrqNs ?? 0;
  }

  /** Descriptors the guest has posted and vhost may fill. */
  free(): number {
    return this.size - this.ring.length;
  }

  /** vhost_add_used_and_signal: new frames; raise the guest interrupt unless suppressed. */
  fill(b: Batch): boolean {
    for (let i = 0; i < b.n; i++)
      this.ring.push(b.flows[i] as number, b.counts[i] as number, b.times[i] as number);
    if (!this.callbacks) return false;
    this.callbacks = false; // one interrupt until the guest re-enables callbacks
    this.irqs++;
    (this.guest.cpus[0] as Cpu).raiseIrq(this.irqAction);
    return true;
  }

  /** virtnet_poll as a generator (for task contexts): drives the resumable poll below. */
  *poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void> {
    this.pollBegin(n, budget, cpu);
    for (;;) {
      const c = this.pollStep();
      if (c < 0) return this.pollWork;
      yield c;
    }
  }

  // virtnet_poll as a resumable state machine (one poll at a time: NAPI_STATE_SCHED)
  private pPhase = VP_IDLE;
  private pNapi: Napi | null = null;
  private pCpu: Cpu | null = null;
  private pBudget = 0;
  private pFrames = 0;
  private pKicked: Task | null = null;
  /** Work done by the poll that pollStep() last finished. */
  pollWork = 0;

  pollBegin(n: Napi, budget: number, cpu: Cpu): void {
    if (this.pPhase !== VP_IDLE) throw new Error("virtio rx queue: poll re-entered");
    this.pNapi = n;
    this.pCpu = cpu;
    this.pBudget = budget;
    this.pPhase = VP_START;
  }

  pollStep(): number {
    const f = this.guest.f;
    const b = this.batch;
    switch (this.pPhase) {
      case VP_START: {
        b.clear();
        this.ring.pop(this.pBudget, b.add);
        const frames = b.frames;
        this.pFrames = frames;
        let bytes = 0;
        for (let i = 0; i < b.n; i++) {
          const fr = (this.flows[b.flows[i] as number] as Flow).framing;
          bytes += ((b.counts[i] as number) * fr.frameBytes) / fr.frags;
        }
        this.pPhase = VP_RECEIVED;
        // virtnet_receive: receive_buf + build skb per frame, then the stack; try_fill_recv refills
        // (rounded here as the CPU rounds every chunk)
        return Math.round(
          f.napiPollNs +
            frames * ((f.guestPerFrameNs ?? 0) + f.driverRxNs) +
            bytes * f.driverRxPerByteNs +
            this.stack.cost(b),
        );
      }
      case VP_RECEIVED: {
        this.stack.deliver(b);
        const cpu = this.pCpu as Cpu;
        cpu.softnet.processed += this.pFrames;
        if (this.pFrames > 0 && this.vhostWaiting && this.vhostWaiting.state === SLEEPING) {
          // virtqueue_kick after refill: a notification exit wakes the vhost worker
          this.pKicked = this.vhostWaiting;
          this.vhostWaiting = null;
          this.kicks++;
          this.pPhase = VP_KICKED;
          return f.vmExitNs ?? 0;
        }
        break;
      }
      case VP_KICKED:
        this.host.wake(this.pKicked as Task);
        this.pKicked = null;
        break;
      default:
        throw new Error("virtio rx queue: poll stepped while idle");
    }
    const n = this.pNapi as Napi;
    const cpu = this.pCpu as Cpu;
    const frames = this.pFrames;
    this.pPhase = VP_IDLE;
    this.pNapi = null;
    this.pCpu = null;
    this.pollWork = frames;
    if (frames < this.pBudget && napiCompleteDone(n, cpu)) {
      this.callbacks = true; // virtqueue_enable_cb_prepare
      if (this.ring.length > 0 && napiSchedulePrep(n)) {
        // virtqueue_poll: buffers arrived meanwhile, so poll again rather than wait for an interrupt
        this.callbacks = false;
        napiScheduleOn(n, cpu);
      }
    }
    return -1;
  }
}

const VP_IDLE = 0;
const VP_START = 1;
const VP_RECEIVED = 2;
const VP_KICKED = 3;

/**
 * vhost-net's handle_rx in the vhost worker thread: move frames from the tun ring into guest
 * buffers while both have room, signal the guest, check for rescheduling between batches
 * (vhost_worker's need_resched check), sleep when the tun ring is empty or the guest ring full.
 */
export function vhostBody(
  host: Kernel,
  task: Task,
  tun: TunQueue,
  vq: VirtioRxQueue,
  flows: Flow[],
): StepBody {
  return new VhostBody(host, task, tun, vq, flows);
}

const VH_TOP = 0;
const VH_COPIED = 1;
const VH_SIGNALLED = 2;

/** vhostBody as a resumable state machine. */
class VhostBody implements StepBody {
  private phase = VH_TOP;
  private readonly b = new Batch();
  private readonly batchMax: number;
  constructor(
    readonly host: Kernel,
    readonly task: Task,
    readonly tun: TunQueue,
    readonly vq: VirtioRxQueue,
    readonly flows: Flow[],
  ) {
    this.batchMax = Math.max(1, host.f.vhostBatch ?? 64);
  }

  step(): number {
    const f = this.host.f;
    const { tun, vq, b } = this;
    switch (this.phase) {
      case VH_COPIED:
        if (vq.fill(b)) {
          this.phase = VH_SIGNALLED;
          return f.vhostSignalNs ?? 0; // vhost_signal -> eventfd -> irqfd injection
        }
        this.phase = VH_TOP;
        return RESCHED;
      case VH_SIGNALLED:
        this.phase = VH_TOP;
        return RESCHED;
    }
    if (tun.queue.length === 0) {
      tun.waiter = this.task;
      return SLEEP;
    }
    if (vq.free() === 0) {
      vq.vhostWaiting = this.task; // vhost_enable_notify: wait for the guest to add buffers
      return SLEEP;
    }
    b.clear();
    tun.queue.pop(Math.min(vq.free(), this.batchMax), b.add);
    let bytes = 0;
    for (let i = 0; i < b.n; i++) {
      const fr = (this.flows[b.flows[i] as number] as Flow).framing;
      bytes += ((b.counts[i] as number) * fr.frameBytes) / fr.frags;
    }
    this.phase = VH_COPIED;
    // tun_recvmsg + copy_to_iter into the guest's buffers, vhost_add_used_n
    return Math.round(b.frames * (f.vhostPerFrameNs ?? 0) + bytes * (f.vhostPerByteNs ?? 0));
  }
}

/**
 * The vCPU thread (a QEMU/KVM vCPU in KVM_RUN): enter the guest while it has work, leave when it
 * halts (kvm_vcpu_block), be woken by an interrupt for the guest (kvm_vcpu_kick).
 */
export function vcpuBody(host: Kernel, guestCpu: Cpu): StepBody {
  let entering = false;
  return {
    step: () => {
      if (entering) {
        entering = false;
        return RUN_GUEST;
      }
      if (!guestCpu.hasWork()) return SLEEP;
      entering = true;
      return host.f.vmExitNs ?? 0; // the exit that brought us here and the next VM entry
    },
  };
}

/** Tie a guest CPU to its host vCPU thread: halting ends the guest run, guest interrupts wake it. */
export function attachVcpu(host: Kernel, vcpu: Task, guestCpu: Cpu): void {
  vcpu.guest = guestCpu;
  guestCpu.onIdle = () => (host.cpus[vcpu.cpu] as Cpu).endGuestRun(vcpu);
  guestCpu.onWork = () => {
    host.wake(vcpu);
  };
}

export { RESCHED };
