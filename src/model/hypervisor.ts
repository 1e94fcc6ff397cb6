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
import { RESCHED, RUN_GUEST, SLEEP, SLEEPING, type Task } from "./task.js";

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

  *poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void> {
    const f = this.guest.f;
    const b = this.batch;
    b.clear();
    this.ring.pop(budget, b.add);
    const frames = b.frames;
    let bytes = 0;
    for (let i = 0; i < b.n; i++) {
      const fr = (this.flows[b.flows[i] as number] as Flow).framing;
      bytes += ((b.counts[i] as number) * fr.frameBytes) / fr.frags;
    }
    // virtnet_receive: receive_buf + build skb per frame, then the stack; try_fill_recv refills
    yield f.napiPollNs +
      frames * ((f.guestPerFrameNs ?? 0) + f.driverRxNs) +
      bytes * f.driverRxPerByteNs +
      this.stack.cost(b);
    this.stack.deliver(b);
    cpu.softnet.processed += frames;
    if (frames > 0 && this.vhostWaiting && this.vhostWaiting.state === SLEEPING) {
      // virtqueue_kick after refill: a notification exit wakes the vhost worker
      const w = this.vhostWaiting;
      this.vhostWaiting = null;
      this.kicks++;
      yield f.vmExitNs ?? 0;
      this.host.wake(w);
    }
    if (frames < budget && napiCompleteDone(n, cpu)) {
      this.callbacks = true; // virtqueue_enable_cb_prepare
      if (this.ring.length > 0 && napiSchedulePrep(n)) {
        // virtqueue_poll: buffers arrived meanwhile, so poll again rather than wait for an interrupt
        this.callbacks = false;
        napiScheduleOn(n, cpu);
      }
    }
    return frames;
  }
}

/**
 * vhost-net's handle_rx in the vhost worker thread: move frames from the tun ring into guest
 * buffers while both have room, signal the guest, check for rescheduling between batches
 * (vhost_worker's need_resched check), sleep when the tun ring is empty or the guest ring full.
 */
export function* vhostBody(
  host: Kernel,
  task: Task,
  tun: TunQueue,
  vq: VirtioRxQueue,
  flows: Flow[],
): Generator<number, void, void> {
  const f = host.f;
  const b = new Batch();
  const batchMax = Math.max(1, f.vhostBatch ?? 64);
  for (;;) {
    if (tun.queue.length === 0) {
      tun.waiter = task;
      yield SLEEP;
      continue;
    }
    if (vq.free() === 0) {
      vq.vhostWaiting = task; // vhost_enable_notify: wait for the guest to add buffers
      yield SLEEP;
      continue;
    }
    b.clear();
    tun.queue.pop(Math.min(vq.free(), batchMax), b.add);
    let bytes = 0;
    for (let i = 0; i < b.n; i++) {
      const fr = (flows[b.flows[i] as number] as Flow).framing;
      bytes += ((b.counts[i] as number) * fr.frameBytes) / fr.frags;
    }
    // tun_recvmsg + copy_to_iter into the guest's buffers, vhost_add_used_n
    yield b.frames * (f.vhostPerFrameNs ?? 0) + bytes * (f.vhostPerByteNs ?? 0);
    if (vq.fill(b)) yield f.vhostSignalNs ?? 0; // vhost_signal -> eventfd -> irqfd injection
    yield RESCHED;
  }
}

/**
 * The vCPU thread (a QEMU/KVM vCPU in KVM_RUN): enter the guest while it has work, leave when it
 * halts (kvm_vcpu_block), be woken by an interrupt for the guest (kvm_vcpu_kick).
 */
export function* vcpuBody(host: Kernel, guestCpu: Cpu): Generator<number, void, void> {
  for (;;) {
    if (!guestCpu.hasWork()) {
      yield SLEEP;
      continue;
    }
    yield host.f.vmExitNs ?? 0; // the exit that brought us here and the next VM entry
    yield RUN_GUEST;
  }
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
