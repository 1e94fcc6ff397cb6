/**
 * A veth pair's receiving side with GRO on (which is what gives a veth a NAPI instance): the
 * transmitting side's veth_xmit puts each skb into the peer's rx queue, a ptr_ring of
 * VETH_RING_SIZE entries, dropping it when the ring is full, and schedules the peer's NAPI on the
 * transmitting CPU; veth_poll consumes the ring into GRO and hands the skbs on (to the local stack,
 * or to RPS). There is no interrupt: the transmitting task itself is the "device".
 */
import type { Cpu } from "./cpu.js";
import { FlowQueue } from "./flowqueue.js";
import type { Kernel } from "./kernel.js";
import { type Napi, type NapiDriver, napiCompleteDone, napiScheduleOn, napiSchedulePrep } from "./napi.js";
import type { SkbDeferList } from "./skbfree.js";
import { Batch, type FrameSink } from "./socket.js";

/** VETH_RING_SIZE (drivers/net/veth.c): each rx queue's ptr_ring length. */
export const VETH_RING_SIZE = 256;

export class VethRx implements NapiDriver {
  readonly k: Kernel;
  readonly ringSize: number;
  /** rq->xdp_ring: skbs waiting for veth_poll, as runs of (flow, skbs, time put in). */
  readonly ring = new FlowQueue();
  readonly sink: FrameSink;
  napi!: Napi;
  /** rq->rx_notify_masked: set while the NAPI is scheduled, so veth_xmit does not schedule it again. */
  notifyMasked = false;
  /** skbs dropped by veth_xmit on a full ring (the transmitting device's tx_dropped). */
  drops = 0;
  /** skbs put into the ring. */
  queued = 0;
  /** Each CPU's skb defer list, flushed by the net_rx_action this poll runs in (null: none kept). */
  deferLists: SkbDeferList[] | null = null;
  private readonly batch = new Batch();

  constructor(k: Kernel, ringSize: number, sink: FrameSink) {
    this.k = k;
    this.ringSize = ringSize;
    this.sink = sink;
  }

  /**
   * veth_xmit() -> veth_forward_skb() -> ptr_ring_produce() for `skbs` skbs of one flow (a datagram's
   * fragments go in together or not at all), then __veth_xdp_flush(): unless rx_notify_masked,
   * napi_schedule() on the transmitting CPU, i.e. NET_RX raised there, or, for a threaded NAPI, a
   * wake-up of its kthread. Returns the wake-up's CPU cost for the caller to charge (0 if none).
   */
  xmit(flow: number, skbs: number, cpu: Cpu): number {
    if (this.ring.length + skbs > this.ringSize) {
      this.drops += skbs; // ptr_ring_produce() fails: kfree_skb, priv->dropped++
      return 0;
    }
    this.ring.push(flow, skbs, this.k.q.now);
    this.queued += skbs;
    if (this.notifyMasked || !napiSchedulePrep(this.napi)) return 0;
    this.notifyMasked = true;
    const n = this.napi;
    napiScheduleOn(n, cpu);
    return n.threaded && n.thread !== null ? this.k.f.wakeupNs : 0;
  }

  /**
   * veth_poll(): veth_xdp_rcv() takes skbs off the ring one by one until the budget is used or the
   * ring is empty (skbs put in while it runs are taken too), each through napi_gro_receive (UDP is
   * not aggregated, GRO only batches); then napi_complete_done() and, because veth_xmit may have
   * seen rx_notify_masked meanwhile, a look at the ring that reschedules the NAPI if it is not empty.
   */
  *poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void> {
    const f = this.k.f;
    const b = this.batch;
    const perSkb = f.vethRxNs ?? 0;
    let done = 0;
    let overhead = f.napiPollNs;
    // skb_defer_free_flush() at the top of net_rx_action's loop (or of the NAPI kthread's poll loop)
    if (this.deferLists !== null) overhead += this.deferLists[cpu.id]?.flush() ?? 0;
    while (done < budget) {
      b.clear();
      this.ring.pop(budget - done, b.add);
      if (b.frames === 0) break;
      yield overhead + b.frames * perSkb + this.sink.cost(b);
      overhead = 0;
      done += b.frames;
      const extra = this.sink.deliver(b, cpu); // napi_gro_flush / gro_normal_list: to the stack or RPS
      if (extra > 0) yield extra;
    }
    if (overhead > 0) yield overhead; // an empty poll still costs its fixed part
    cpu.softnet.processed += done;
    if (done < budget && napiCompleteDone(n, cpu, done)) {
      this.notifyMasked = false; // smp_store_mb(rq->rx_notify_masked, false)
      if (this.ring.length > 0 && napiSchedulePrep(n)) {
        this.notifyMasked = true;
        napiScheduleOn(n, cpu);
      }
    }
    return done;
  }

  resetStats(): void {
    this.drops = 0;
    this.queued = 0;
  }
}
