/**
 * UDP sockets and the local receive stack. Frames leave the driver as batches of runs; the stack
 * charges GRO, IP (with reassembly of fragments), the UDP lookup and socket enqueue, then queues the
 * datagrams on the socket, dropping what exceeds the receive buffer (counted like RcvbufErrors),
 * and wakes a receiver blocked in recv().
 */
import type { Cpu } from "./cpu.js";
import { FlowQueue } from "./flowqueue.js";
import { LatencyHistogram } from "./histogram.js";
import type { Kernel } from "./kernel.js";
import type { SkbDeferList } from "./skbfree.js";
import { SLEEPING, type Task } from "./task.js";
import type { Framing } from "./wire.js";

/** A flow: one UDP 4-tuple, as it arrives at a host. */
export interface Flow {
  id: number;
  framing: Framing;
  /** Offered datagrams per second (for a constant-rate source). */
  rateDps: number;
  /** 'sdfn'-style hash of addresses and ports; picks the rx queue. */
  hash: number;
  socket: UdpSocket | null;
  /** Frames of the next datagram already collected by IP reassembly (ip_defrag). */
  residue: number;
}

/**
 * A batch of frames moving through the stack as runs of (flow, frame count, wire arrival time).
 * Reused across polls: `n` runs are valid; clearing allocates nothing.
 */
export class Batch {
  flows: number[] = [];
  counts: number[] = [];
  times: number[] = [];
  /** Datagrams each run completes (filled by the stack's cost pass). */
  datagrams: number[] = [];
  /** Number of valid runs. */
  n = 0;
  frames = 0;

  clear(): void {
    this.n = 0;
    this.frames = 0;
  }

  add = (flow: number, count: number, t: number): void => {
    const i = this.n++;
    this.flows[i] = flow;
    this.counts[i] = count;
    this.times[i] = t;
    this.frames += count;
  };
}

/** Where a driver hands its frames: the local stack, or a forwarding path (tun) on a hypervisor. */
export interface FrameSink {
  /** CPU cost (ns) of taking the batch through this layer; may advance reassembly state. */
  cost(b: Batch): number;
  /** Hand the batch on after the CPU work is done; returns extra CPU cost (e.g. wake-ups). */
  deliver(b: Batch, cpu: Cpu): number;
}

export class UdpSocket {
  readonly id: number;
  readonly queue = new FlowQueue();
  readonly rcvbuf: number;
  /** skb->truesize charged per datagram (all its fragments' buffers). */
  readonly truesize: number;
  rmemAlloc = 0;
  /** A receiver blocked in recv() on this socket (on its wait queue). */
  waiter: Task | null = null;
  enqueued = 0;
  drops = 0;
  delivered = 0;
  /** Marks the socket once per batch when its wake-up is charged. */
  stamp = 0;
  /**
   * The defer list of the CPU that allocated this socket's skbs (skb->alloc_cpu), which the
   * reader's skb_consume_udp -> skb_attempt_defer_free hands them to; null: freed by the reader.
   */
  freeTo: SkbDeferList | null = null;

  constructor(id: number, rcvbuf: number, truesize: number) {
    this.id = id;
    this.rcvbuf = rcvbuf;
    this.truesize = truesize;
  }

  /**
   * __udp_enqueue_schedule_skb(): a datagram is dropped when sk_rmem_alloc already exceeds
   * sk_rcvbuf; otherwise it is charged and queued. Returns the number accepted.
   */
  enqueue(flow: number, n: number, t: number): number {
    let accepted = 0;
    if (this.rmemAlloc <= this.rcvbuf) {
      // one datagram (the usual run) always fits under the limit: no division
      accepted = n === 1 ? 1 : Math.min(n, Math.floor((this.rcvbuf - this.rmemAlloc) / this.truesize) + 1);
    }
    this.rmemAlloc += accepted * this.truesize;
    this.queue.push(flow, accepted, t);
    this.enqueued += accepted;
    this.drops += n - accepted;
    return accepted;
  }

  /** recv() of up to n datagrams at time `now`, recording wire-to-recv latency. */
  consume(n: number, now: number, latency: LatencyHistogram): number {
    const got = this.queue.popLatency(n, now, latency);
    this.rmemAlloc -= got * this.truesize;
    this.delivered += got;
    return got;
  }
}

/** The local receive stack (GRO, IP, UDP) of one kernel, delivering into UDP sockets. */
export class LocalStack implements FrameSink {
  readonly k: Kernel;
  readonly flows: Flow[];
  readonly latency = new LatencyHistogram();
  wakeups = 0;
  /**
   * Whether this stack charges napi_gro_receive per frame. False behind RPS: GRO ran in the NAPI
   * that steered the skb, and process_backlog goes straight to __netif_receive_skb.
   */
  readonly gro: boolean;

  constructor(k: Kernel, flows: Flow[], o: { gro?: boolean } = {}) {
    this.k = k;
    this.flows = flows;
    this.gro = o.gro ?? true;
  }

  private stamp = 0;
  // Per-flow constants of cost(), by flow id (built on first use and when new flows appear): the
  // stack's cost per frame (GRO, ip_rcv, ip_defrag) and per datagram (udp_rcv, copy-free checksum
  // bytes, enqueue), and the frames per datagram. Each is the same expression as written inline
  // before, so every sum comes out bit for bit as it did.
  private perFrameNs = new Float64Array(0);
  private perDgramNs = new Float64Array(0);
  private fragsOf = new Int32Array(0);

  private buildConstants(): void {
    const f = this.k.f;
    const n = this.flows.length;
    this.perFrameNs = new Float64Array(n);
    this.perDgramNs = new Float64Array(n);
    this.fragsOf = new Int32Array(n);
    for (let id = 0; id < n; id++) {
      const fr = (this.flows[id] as Flow).framing;
      this.perFrameNs[id] = (this.gro ? f.groNs : 0) + f.ipRcvNs + (fr.frags > 1 ? f.ipDefragNs : 0);
      this.perDgramNs[id] = f.udpRcvNs + f.udpPerByteNs * fr.payload + f.sockEnqueueNs;
      this.fragsOf[id] = fr.frags;
    }
  }

  cost(b: Batch): number {
    const f = this.k.f;
    let ns = 0;
    const stamp = ++this.stamp;
    const ids = b.flows;
    const counts = b.counts;
    for (let i = 0; i < b.n; i++) {
      const id = ids[i] as number;
      if (id >= this.fragsOf.length) this.buildConstants();
      const flow = this.flows[id] as Flow;
      const frames = counts[i] as number;
      const frags = this.fragsOf[id] as number;
      // napi_gro_receive + ip_rcv per frame; ip_defrag for each fragment of a fragmented datagram
      ns += frames * (this.perFrameNs[id] as number);
      const total = flow.residue + frames;
      const d = Math.floor(total / frags);
      flow.residue = total - d * frags;
      b.datagrams[i] = d;
      // udp_rcv: socket lookup and checksum; __udp_enqueue_schedule_skb
      ns += d * (this.perDgramNs[id] as number);
      // sk_data_ready will wake a receiver blocked in recv(): charged here, done at delivery
      const sock = flow.socket;
      if (
        d > 0 &&
        sock !== null &&
        sock.waiter !== null &&
        sock.waiter.state === SLEEPING &&
        sock.stamp !== stamp
      ) {
        sock.stamp = stamp;
        ns += f.wakeupNs;
      }
    }
    return ns;
  }

  deliver(b: Batch): number {
    let wakes = 0;
    for (let i = 0; i < b.n; i++) {
      const d = b.datagrams[i] as number;
      if (d === 0) continue;
      const flow = this.flows[b.flows[i] as number] as Flow;
      const sock = flow.socket;
      if (!sock) continue;
      const accepted = sock.enqueue(flow.id, d, b.times[i] as number);
      // sk_data_ready -> wake the receiver sleeping in recv()
      if (accepted > 0 && sock.waiter && sock.waiter.state === SLEEPING) {
        const w = sock.waiter;
        sock.waiter = null;
        this.k.wake(w);
        wakes++;
      }
    }
    this.wakeups += wakes;
    return 0;
  }
}
