/**
 * The bench's sender on the host itself: a loop of sendmmsg(2) calls whose messages cycle over the
 * flows' destinations. napilab bench's default generator is an AF_PACKET socket with
 * PACKET_QDISC_BYPASS, whose frames go packet_snd -> packet_direct_xmit -> __dev_direct_xmit ->
 * veth_xmit with no UDP/IP transmit path (its UDP generator goes udp_sendmsg -> ip_output ->
 * __dev_queue_xmit instead; the same loop with other per-datagram costs). Either way each frame's
 * veth_xmit runs with bottom halves disabled (local_bh_disable in __dev_direct_xmit,
 * rcu_read_lock_bh in __dev_queue_xmit), so the NET_RX softirq that veth_xmit raises on this CPU
 * runs at the BH enable right after, in this task's context: in softirq mode the peer's NAPI poll,
 * GRO and RPS all land on the sender's CPU and compete with it there.
 */
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import type { Flow } from "./socket.js";
import { BH_DONE, BhEnableRun } from "./softirq.js";
import { SLEEP, type StepBody, type Task } from "./task.js";
import type { VethRx } from "./veth.js";

/** Datagrams one sender chunk covers at most when no softirq runs between them (model granularity). */
export const SEND_CHUNK = 8;
/** The bench sender sleeps only when this far ahead of its pace (traffic-worker.ts: 50 us). */
const PACE_SLACK_NS = 50_000;

export interface SenderSpec {
  /** Destinations, cycled message by message (the bench's dests[j % flows]). */
  flows: Flow[];
  veth: VethRx;
  /** Messages per sendmmsg call (the bench: ceil(batch / flows) * flows). */
  msgsPerCall: number;
  /** Datagrams per second to pace to; 0 = flood. */
  ratePps: number;
  /**
   * A dropped frame ends the sendmmsg call (the AF_PACKET generator: packet_snd returns the
   * -ENOBUFS of NET_XMIT_DROP). A UDP socket without IP_RECVERR swallows it (udp_send_skb).
   */
  cutOnDrop: boolean;
}

const S_CALL = 0;
const S_DGRAM = 1;
const S_XMIT = 2;
const S_UNLOCK = 3;
const S_BH = 4;

/** The sendmmsg loop as a resumable state machine. */
export class SenderBody implements StepBody {
  /** Datagrams handed to sendmmsg (what the bench's sender counts as sent, dropped ones included). */
  sent = 0;
  calls = 0;
  /** sendmmsg calls cut short by a frame veth dropped. */
  cutCalls = 0;
  private phase = S_CALL;
  private left = 0;
  private m = 0;
  private next = 0;
  private started = -1;
  private readonly per: number;
  private readonly bh: BhEnableRun;

  constructor(
    readonly k: Kernel,
    readonly task: Task,
    readonly spec: SenderSpec,
  ) {
    const f = k.f;
    const size = spec.flows[0]?.framing.payload ?? 0;
    // ___sys_sendmsg -> packet_snd -> packet_direct_xmit -> veth_xmit (or the UDP path), per datagram
    this.per = (f.sendPerDatagramNs ?? 0) + (f.sendPerByteNs ?? 0) * size;
    this.bh = new BhEnableRun(k, task);
  }

  step(): number {
    const k = this.k;
    const spec = this.spec;
    for (;;) {
      switch (this.phase) {
        case S_CALL: {
          if (this.started < 0) this.started = k.q.now;
          if (spec.ratePps > 0) {
            // the bench's pacing: sleep until this many datagrams are due
            const due = this.started + (this.sent / spec.ratePps) * 1e9;
            if (due - k.q.now > PACE_SLACK_NS) {
              const t = this.task;
              k.q.at(due, () => k.wake(t));
              return SLEEP;
            }
          }
          this.calls++;
          this.left = spec.msgsPerCall;
          this.phase = S_DGRAM;
          return k.f.sendmmsgCallNs ?? 0; // sendmmsg(2) entry/exit and the caller's loop
        }
        case S_DGRAM: {
          if (this.left === 0) {
            this.phase = S_CALL;
            break;
          }
          // one datagram at a time when its veth_xmit will raise NET_RX here (the softirq then runs
          // at its rcu_read_unlock_bh); otherwise several per chunk
          const v = spec.veth;
          const raises = !v.napi.threaded && !v.notifyMasked;
          this.m = raises ? 1 : Math.min(this.left, SEND_CHUNK);
          this.phase = S_XMIT;
          return this.m * this.per;
        }
        case S_XMIT: {
          const task = this.task;
          const cpu = k.cpus[task.cpu] as Cpu;
          task.bh++; // rcu_read_lock_bh() in __dev_queue_xmit
          let extra = 0;
          const flows = spec.flows;
          const veth = spec.veth;
          for (let j = 0; j < this.m; j++) {
            const fl = flows[this.next] as Flow;
            this.next = this.next + 1 === flows.length ? 0 : this.next + 1;
            const dropped = veth.drops;
            extra += veth.xmit(fl.id, fl.framing.frags, cpu);
            if (spec.cutOnDrop && veth.drops !== dropped) {
              // veth_xmit dropped it (NET_XMIT_DROP): packet_snd returns -ENOBUFS, sendmmsg returns
              // the count so far, and the bench counts the frame offered and calls again for the rest
              this.cutCalls++;
              this.calls++;
              extra += k.f.sendmmsgCallNs ?? 0;
            }
          }
          this.sent += this.m;
          this.left -= this.m;
          this.phase = S_UNLOCK;
          if (extra > 0) return extra; // try_to_wake_up of the NAPI kthread
          break;
        }
        case S_UNLOCK:
          this.bh.begin(); // rcu_read_unlock_bh(): do_softirq() if NET_RX is pending
          this.phase = S_BH;
          break;
        default: {
          const c = this.bh.step();
          if (c !== BH_DONE) return c;
          this.phase = S_DGRAM;
        }
      }
    }
  }
}
