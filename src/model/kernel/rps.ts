/**
 * Receive Packet Steering: after GRO, get_rps_cpu picks a CPU from the rx queue's rps_cpus by the
 * flow hash, enqueue_to_backlog puts the skb on that CPU's input_pkt_queue (dropping it past
 * netdev_max_backlog, or past the flow limit when that is on), and a remote CPU's backlog NAPI is
 * kicked by an IPI sent at the end of the steering CPU's net_rx_action. The backlog NAPI's poll,
 * process_backlog, then runs the rest of the stack (IP, UDP, socket) in that CPU's NET_RX softirq.
 */
import type { Cpu, IrqAction } from "./cpu.js";
import { FlowQueue } from "./flowqueue.js";
import type { Kernel } from "./kernel.js";
import { Napi, type NapiDriver, napiScheduleOn } from "./napi.js";
import type { SkbDeferList } from "./skbfree.js";
import { Batch, type Flow, type FrameSink, type LocalStack } from "./socket.js";

/** FLOW_LIMIT_HISTORY (net/core/dev.c): packets of history skb_flow_limit looks at. */
export const FLOW_LIMIT_HISTORY = 128;
/** netdev_flow_limit_table_len default: buckets of the flow-limit table. */
export const FLOW_LIMIT_TABLE_LEN = 4096;

/** One CPU's softnet_data backlog: input_pkt_queue and the backlog NAPI that drains it. */
export class Backlog implements NapiDriver {
  readonly k: Kernel;
  readonly cpu: Cpu;
  readonly napi: Napi;
  /** sd->input_pkt_queue (process_queue folded in: the model charges per skb, not per splice). */
  readonly queue = new FlowQueue();
  readonly stack: LocalStack;
  /** softnet_data.dropped: skbs enqueue_to_backlog refused (backlog full or flow limit). */
  dropped = 0;
  /** sd->flow_limit->count. */
  flowLimitDrops = 0;
  /** softnet_data.received_rps: IPIs that kicked this CPU's backlog. */
  receivedRps = 0;
  private readonly batch = new Batch();
  private readonly history = new Int32Array(FLOW_LIMIT_HISTORY).fill(-1);
  private readonly buckets = new Uint8Array(FLOW_LIMIT_TABLE_LEN);
  private historyHead = 0;
  /** The call-function IPI that reaches this CPU (rps_trigger_softirq). */
  readonly ipi: IrqAction;
  /** This CPU's skb defer list, flushed by the net_rx_action the backlog is polled in (null: none kept). */
  deferList: SkbDeferList | null = null;

  constructor(k: Kernel, cpu: Cpu, stack: LocalStack) {
    this.k = k;
    this.cpu = cpu;
    this.stack = stack;
    // the per-CPU backlog NAPI: weight dev_rx_weight (64), never threaded here
    this.napi = new Napi(k, 10_000 + cpu.id, `backlog/${cpu.id}`, this, k.f.napiWeight);
    this.ipi = {
      name: "ipi",
      costNs: k.f.ipiNs ?? 0,
      // rps_trigger_softirq(): ____napi_schedule(sd, &sd->backlog), received_rps++
      handler: (c: Cpu) => {
        this.receivedRps++;
        napiScheduleOn(this.napi, c);
      },
    };
  }

  /**
   * enqueue_to_backlog(): accept while the queue holds no more than netdev_max_backlog and
   * skb_flow_limit does not object; the first skb into an empty queue claims the backlog NAPI
   * (NAPI_STATE_SCHED) and returns true: the caller must kick this CPU (napi_schedule_rps).
   */
  enqueue(flow: Flow, skbs: number, t: number): { accepted: number; kick: boolean } {
    const max = this.k.f.netdevMaxBacklog ?? 1000;
    const limitOn = (this.k.f.flowLimit ?? 0) !== 0;
    let accepted = 0;
    for (let i = 0; i < skbs; i++) {
      const qlen = this.queue.length + accepted;
      if (qlen > max || (limitOn && this.flowLimit(flow, qlen, max))) {
        this.dropped++;
        continue;
      }
      accepted++;
    }
    const wasEmpty = this.queue.length === 0;
    this.queue.push(flow.id, accepted, t);
    let kick = false;
    if (accepted > 0 && wasEmpty && !this.napi.sched) {
      this.napi.sched = true; // __test_and_set_bit(NAPI_STATE_SCHED, &sd->backlog.state)
      kick = true;
    }
    return { accepted, kick };
  }

  /**
   * skb_flow_limit(): once the queue is half full, a flow that holds more than half of the last
   * FLOW_LIMIT_HISTORY packets' hash buckets is dropped.
   */
  private flowLimit(flow: Flow, qlen: number, max: number): boolean {
    if (qlen < max >> 1) return false;
    const nb = flow.hash & (FLOW_LIMIT_TABLE_LEN - 1);
    const old = this.history[this.historyHead] as number;
    this.history[this.historyHead] = nb;
    this.historyHead = (this.historyHead + 1) & (FLOW_LIMIT_HISTORY - 1);
    if (old >= 0 && (this.buckets[old] as number) > 0) this.buckets[old] = (this.buckets[old] as number) - 1;
    this.buckets[nb] = (this.buckets[nb] as number) + 1;
    if ((this.buckets[nb] as number) > FLOW_LIMIT_HISTORY >> 1) {
      this.flowLimitDrops++;
      return true;
    }
    return false;
  }

  /**
   * process_backlog(): up to the quota (the NAPI weight), take skbs off the queue through
   * __netif_receive_skb (IP, UDP, the socket); when the queue is empty, clear the NAPI state
   * (no napi_complete: the backlog is re-claimed by the next enqueue_to_backlog).
   */
  *poll(n: Napi, quota: number, cpu: Cpu): Generator<number, number, void> {
    const b = this.batch;
    let done = 0;
    // skb_defer_free_flush() at the top of net_rx_action's loop
    const freeNs = this.deferList !== null ? this.deferList.flush() : 0;
    if (freeNs > 0) yield freeNs;
    while (done < quota) {
      b.clear();
      this.queue.pop(quota - done, b.add);
      if (b.frames === 0) break;
      // __netif_receive_skb for each, plus the hand-off's own cost per skb (backlogPerSkbNs)
      yield this.stack.cost(b) + b.frames * (this.k.f.backlogPerSkbNs ?? 0);
      done += b.frames;
      const extra = this.stack.deliver(b);
      if (extra > 0) yield extra;
    }
    cpu.softnet.processed += done;
    if (this.queue.length === 0) n.sched = false; // napi->state &= NAPIF_STATE_THREADED
    return done;
  }

  resetStats(): void {
    this.dropped = 0;
    this.flowLimitDrops = 0;
    this.receivedRps = 0;
  }
}

/**
 * What a NAPI hands its skbs to when its rx queue has rps_cpus set: napi_gro_receive's cost per
 * skb, then netif_receive_skb_list_internal -> get_rps_cpu -> enqueue_to_backlog for each. Kicks for
 * remote CPUs are collected (sd->rps_ipi_list) and sent when the batch is delivered, the model's
 * stand-in for net_rps_send_ipi at the end of net_rx_action.
 */
export class RpsSink implements FrameSink {
  readonly k: Kernel;
  readonly flows: Flow[];
  /** rps_map of the rx queue: the CPUs get_rps_cpu chooses from. */
  readonly cpus: number[];
  readonly backlogs: Backlog[];
  /** IPIs sent (net_rps_send_ipi). */
  ipisSent = 0;
  private readonly kick: boolean[];

  constructor(k: Kernel, flows: Flow[], rpsCpus: number[], backlogs: Backlog[]) {
    this.k = k;
    this.flows = flows;
    this.cpus = rpsCpus;
    this.backlogs = backlogs;
    this.kick = backlogs.map(() => false);
  }

  /** get_rps_cpu(): rps_map->cpus[reciprocal_scale(hash, map->len)]. */
  target(flow: Flow): number {
    const len = this.cpus.length;
    return this.cpus[Math.floor(((flow.hash >>> 0) * len) / 2 ** 32)] as number;
  }

  cost(b: Batch): number {
    const f = this.k.f;
    // napi_gro_receive, then get_rps_cpu + enqueue_to_backlog per skb
    return b.frames * (f.groNs + (f.rpsEnqueueNs ?? 0));
  }

  deliver(b: Batch, cpu: Cpu): number {
    for (let i = 0; i < b.n; i++) {
      const flow = this.flows[b.flows[i] as number] as Flow;
      const to = this.target(flow);
      const bl = this.backlogs[to] as Backlog;
      const r = bl.enqueue(flow, b.counts[i] as number, b.times[i] as number);
      if (!r.kick) continue;
      if (to === cpu.id)
        napiScheduleOn(bl.napi, cpu); // our own backlog: ____napi_schedule
      else this.kick[to] = true; // napi_schedule_rps: onto our rps_ipi_list
    }
    let extra = 0;
    for (let c = 0; c < this.kick.length; c++) {
      if (!this.kick[c]) continue;
      this.kick[c] = false;
      // net_rps_send_ipi -> smp_call_function_single_async(remote cpu)
      extra += this.k.f.ipiSendNs ?? 0;
      this.ipisSent++;
      const bl = this.backlogs[c] as Backlog;
      const late = this.k.f.ipiLatencyNs ?? 0;
      // the IPI lands when the remote (v)CPU takes it: at once on bare metal, later on a guest
      bl.cpu.sendIpi(bl.ipi, late);
    }
    return extra;
  }
}
