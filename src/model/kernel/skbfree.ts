/**
 * Deferred skb freeing (net/core/skbuff.c, 6.18). A UDP reader done with a datagram calls
 * skb_consume_udp -> skb_attempt_defer_free: an skb allocated on another CPU (skb->alloc_cpu, the
 * CPU whose sender or driver built it) is not freed by the reader but put on that CPU's defer list,
 * which skb_defer_free_flush empties at the top of that CPU's net_rx_action. When the list reaches
 * half of net.core.skb_defer_max the reader kicks that CPU with an IPI (kick_defer_list_purge ->
 * smp_call_function_single_async -> trigger_rx_softirq raises NET_RX there), and past the limit it
 * frees the skb itself. So a receiver on one CPU puts NET_RX work on the sender's CPU even when no
 * NAPI runs there (threaded mode).
 */
import type { Cpu, IrqAction } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import { Napi, type NapiDriver, napiScheduleOn } from "./napi.js";

/** One CPU's defer list (skb_defer_node: defer_list, defer_count) and its IPI (defer_csd). */
export class SkbDeferList implements NapiDriver {
  readonly k: Kernel;
  readonly cpu: Cpu;
  /** defer_count: incremented by every attempt (6.18 counts before the limit check), reset by a flush. */
  count = 0;
  /** skbs on the list, waiting for skb_defer_free_flush. */
  pending = 0;
  /** skbs freed from the list (the flushes' work). */
  freed = 0;
  /** skbs the reader freed itself because the list was full. */
  freedByReader = 0;
  /** IPIs sent (kick_defer_list_purge). */
  kicks = 0;
  /** sd->defer_ipi_scheduled: an IPI is on its way. */
  private ipiScheduled = false;
  /**
   * NET_RX raised with nothing to poll, as trigger_rx_softirq does: a stand-in instance on the CPU's
   * poll list whose poll is the flush that net_rx_action starts with.
   */
  readonly napi: Napi;
  readonly ipi: IrqAction;

  constructor(k: Kernel, cpu: Cpu) {
    this.k = k;
    this.cpu = cpu;
    this.napi = new Napi(k, 20_000 + cpu.id, `defer/${cpu.id}`, this, k.f.napiWeight);
    this.ipi = {
      name: "ipi",
      costNs: k.f.ipiNs ?? 0,
      // trigger_rx_softirq(): __raise_softirq_irqoff(NET_RX_SOFTIRQ), defer_ipi_scheduled = 0
      handler: (c: Cpu) => {
        this.ipiScheduled = false;
        if (!this.napi.sched) {
          this.napi.sched = true;
          napiScheduleOn(this.napi, c);
        }
      },
    };
  }

  /**
   * skb_attempt_defer_free() for `n` skbs consumed on CPU `on`. Returns what the reader pays beyond
   * its recv() (the IPI's send); the frees themselves are charged on this list's CPU at its flush.
   */
  defer(n: number, on: Cpu): number {
    const max = this.k.f.skbDeferMax ?? 0;
    if (on === this.cpu || max <= 0 || n <= 0) return 0; // freed by the reader (kfree_skb_napi_cache)
    let cost = 0;
    for (let i = 0; i < n; i++) {
      this.count++; // atomic_long_inc_return(&sdn->defer_count)
      if (this.count >= max) {
        this.freedByReader++;
        continue;
      }
      this.pending++; // llist_add to the defer list
      if (this.count - 1 === max >> 1 && !this.ipiScheduled) {
        // kick_defer_list_purge(): one IPI while none is pending (cmpxchg on defer_ipi_scheduled)
        this.ipiScheduled = true;
        this.kicks++;
        cost += this.k.f.ipiSendNs ?? 0;
        const late = this.k.f.ipiLatencyNs ?? 0;
        this.cpu.sendIpi(this.ipi, late);
      }
    }
    return cost;
  }

  /** skb_defer_free_flush(): free every skb on the list; returns its CPU cost. */
  flush(): number {
    if (this.pending === 0) return 0; // llist_empty: the count is left as it is
    const cost = this.pending * (this.k.f.skbFreeNs ?? 0);
    this.freed += this.pending;
    this.pending = 0;
    this.count = 0;
    return cost;
  }

  /** The net_rx_action that the kick raised: its skb_defer_free_flush, with nothing else to poll. */
  *poll(n: Napi, _budget: number, _cpu: Cpu): Generator<number, number, void> {
    n.sched = false;
    const c = this.flush();
    if (c > 0) yield c;
    return 0;
  }

  resetStats(): void {
    this.freed = 0;
    this.freedByReader = 0;
    this.kicks = 0;
  }
}
