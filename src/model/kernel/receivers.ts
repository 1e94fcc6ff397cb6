/**
 * User tasks of the model: a netserver-like receiver (a blocking recv() per datagram, with its
 * syscall and copy cost), a busy-polling receiver (SO_BUSY_POLL: spin on the socket's NAPI before
 * sleeping), and a CPU hog. Receivers take datagrams in small batches per chunk for speed; each
 * datagram still costs one recv().
 */
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import { type Napi, napiCompleteDone } from "./napi.js";
import type { LocalStack, UdpSocket } from "./socket.js";
import { BH_DONE, BhEnableRun, bhEnableRunsSoftirq, localBhEnable } from "./softirq.js";
import { RESCHED, SLEEP, type StepBody, type Task } from "./task.js";

/** Datagrams one receiver chunk takes at most (model granularity, not a kernel figure). */
export const RECV_BATCH = 8;
/** How long a hog runs between looks at the clock (model granularity). */
const HOG_CHUNK_NS = 1_000_000;
/** BUSY_POLL_BUDGET in napi_busy_loop. */
const BUSY_POLL_BUDGET = 8;

export function recvCost(k: Kernel, payload: number): number {
  // __sys_recvfrom -> udp_recvmsg -> skb_copy_datagram_msg
  return k.f.recvSyscallNs + k.f.copyPerByteNs * payload;
}

/**
 * One chunk of recv() calls. Each recv() ends with spin_unlock_bh(&queue->lock) in __skb_recv_udp,
 * i.e. __local_bh_enable_ip -> do_softirq when a softirq is pending. When one would run now, take
 * one datagram so the softirq runs right after it; otherwise a batch (a softirq left pending during
 * the batch runs at its end, at the last recv()'s BH-enable). Then the return to user space is a
 * preemption point for a user task. (Hot path: the BH-enable and the preemption point are only
 * stepped through when they have something to do.)
 */
export function* recvChunk(
  k: Kernel,
  task: Task,
  sock: UdpSocket,
  stack: LocalStack,
  per: number,
): Generator<number, void, void> {
  const n = bhEnableRunsSoftirq(k, k.cpus[task.cpu] as Cpu) ? 1 : Math.min(sock.queue.length, RECV_BATCH);
  yield n * per; // udp_recvmsg with BHs enabled
  const got = sock.consume(n, k.q.now, stack.latency);
  let cpu = k.cpus[task.cpu] as Cpu;
  const kick = sock.freeTo !== null ? sock.freeTo.defer(got, cpu) : 0; // skb_consume_udp
  if (kick > 0) yield kick;
  if (bhEnableRunsSoftirq(k, cpu)) {
    task.bh++; // the queue lock section (spin_lock_bh) is part of the recv cost
    yield* localBhEnable(k, task);
    cpu = k.cpus[task.cpu] as Cpu;
  }
  if (cpu.needResched) yield RESCHED; // exit_to_user_mode: need_resched -> schedule()
}

/** netserver's UDP_STREAM loop: recv() until the socket is empty, then block in recv(). */
export function netserverBody(
  k: Kernel,
  task: Task,
  sock: UdpSocket,
  stack: LocalStack,
  payload: number,
): StepBody {
  return new NetserverBody(k, task, sock, stack, recvCost(k, payload));
}

const NS_TOP = 0;
const NS_RECVD = 1;
const NS_BH = 2;
const NS_USER = 3;

/** netserverBody as a resumable state machine (recvChunk inlined: the receivers' hot loop). */
class NetserverBody implements StepBody {
  private phase = NS_TOP;
  private n = 0;
  private readonly bh: BhEnableRun;
  constructor(
    readonly k: Kernel,
    readonly task: Task,
    readonly sock: UdpSocket,
    readonly stack: LocalStack,
    readonly per: number,
  ) {
    this.bh = new BhEnableRun(k, task);
  }

  step(): number {
    const k = this.k;
    const task = this.task;
    const sock = this.sock;
    for (;;) {
      switch (this.phase) {
        case NS_TOP: {
          if (sock.queue.length === 0) {
            sock.waiter = task; // add_wait_queue + schedule() in __skb_wait_for_more_packets
            return SLEEP;
          }
          sock.waiter = null;
          const n = bhEnableRunsSoftirq(k, k.cpus[task.cpu] as Cpu)
            ? 1
            : Math.min(sock.queue.length, RECV_BATCH);
          this.n = n;
          this.phase = NS_RECVD;
          return Math.round(n * this.per); // udp_recvmsg with BHs enabled
        }
        case NS_RECVD: {
          const got = sock.consume(this.n, k.q.now, this.stack.latency);
          const cpu = k.cpus[task.cpu] as Cpu;
          // skb_consume_udp -> skb_attempt_defer_free: the skbs go back to the CPU that made them
          const kick = sock.freeTo !== null ? sock.freeTo.defer(got, cpu) : 0;
          if (bhEnableRunsSoftirq(k, cpu)) {
            task.bh++; // the queue lock section (spin_lock_bh) is part of the recv cost
            this.bh.begin();
            this.phase = NS_BH;
          } else this.phase = NS_USER;
          if (kick > 0) return kick;
          break;
        }
        case NS_BH: {
          const c = this.bh.step();
          if (c !== BH_DONE) return c;
          this.phase = NS_USER;
          break;
        }
        default:
          this.phase = NS_TOP;
          if ((k.cpus[task.cpu] as Cpu).needResched) return RESCHED; // exit_to_user_mode
      }
    }
  }
}

/**
 * A receiver with busy polling (sk_busy_loop/napi_busy_loop): when the socket is empty it polls the
 * socket's NAPI from process context for up to busyReadNs, then blocks like netserver.
 */
export function* busyPollReceiverBody(
  k: Kernel,
  task: Task,
  sock: UdpSocket,
  stack: LocalStack,
  payload: number,
  napi: Napi,
  busyReadNs: number,
): Generator<number, void, void> {
  const per = recvCost(k, payload);
  for (;;) {
    if (sock.queue.length > 0) {
      sock.waiter = null;
      yield* recvChunk(k, task, sock, stack, per);
      continue;
    }
    const end = k.q.now + busyReadNs;
    let owned = false;
    while (sock.queue.length === 0 && k.q.now < end) {
      if (!owned && !napi.sched) {
        napi.sched = true; // napi_busy_loop takes SCHED with IN_BUSY_POLL
        napi.inBusyPoll = true;
        owned = true;
      }
      if (owned) {
        const cpu = k.cpus[task.cpu] as Cpu;
        task.bh++;
        const work = yield* napi.driver.poll(napi, BUSY_POLL_BUDGET, cpu);
        napi.polls++;
        napi.packets += work;
        yield* localBhEnable(k, task);
        if (work === 0) yield k.f.busyPollEmptyNs;
      } else {
        yield k.f.busyPollEmptyNs; // someone else owns the NAPI: spin on the socket
      }
    }
    if (owned) {
      // busy_poll_stop(): with BHs disabled, drop IN_BUSY_POLL and complete (a MISSED schedule is
      // re-raised as NET_RX, which runs at the local_bh_enable); the driver re-arms its interrupt
      task.bh++;
      napi.inBusyPoll = false;
      const cpu = k.cpus[task.cpu] as Cpu;
      if (napiCompleteDone(napi, cpu)) napi.driver.rearm?.();
      yield* localBhEnable(k, task);
    }
    if (sock.queue.length === 0) {
      sock.waiter = task;
      yield SLEEP;
    }
  }
}

/** A CPU hog: always runnable, preemptible user code. */
export function hogBody(): StepBody {
  return HOG;
}

const HOG: StepBody = { step: () => HOG_CHUNK_NS };

/** Period of a duty-cycle task's run-and-sleep rhythm (model granularity, not a kernel figure). */
export const DUTY_PERIOD_NS = 4_000_000;

/**
 * Other work that wants a share of a CPU: runs `share` of every DUTY_PERIOD_NS window (in chunks
 * that a tick can preempt), then sleeps until the next window (hrtimer wake-up). Stands in for
 * another session's processes measured on a CPU while a bench cell ran; what it gets when the CPU
 * is contended is up to the scheduler.
 */
export function dutyBody(k: Kernel, task: Task, share: number): StepBody {
  const want = Math.round(Math.min(1, Math.max(0, share)) * DUTY_PERIOD_NS);
  // its run time as schedstat counts it (what the share was measured as): with the interrupts and
  // softirqs that ran while it was current when the kernel lacks IRQ time accounting
  const runNs = () => task.sumExecNs + task.irqNs;
  let windowEnd = -1;
  let lastExec = 0;
  return {
    step: () => {
      const now = k.q.now;
      if (windowEnd < 0 || now >= windowEnd) {
        windowEnd = (Math.floor(now / DUTY_PERIOD_NS) + 1) * DUTY_PERIOD_NS;
        lastExec = runNs();
      }
      if (runNs() < lastExec) lastExec = runNs(); // the statistics were reset
      const left = want - (runNs() - lastExec);
      if (left <= 0) {
        const at = windowEnd;
        k.q.at(at, () => k.wake(task));
        return SLEEP;
      }
      return Math.min(left, HOG_CHUNK_NS / 4);
    },
  };
}
