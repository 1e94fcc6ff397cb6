/**
 * Socket busy polling from process context and the receivers built on it: napi_busy_loop() and
 * busy_poll_stop() as the kernel runs them (preemption off, a NAPI taken with SCHED|IN_BUSY_POLL,
 * SO_PREFER_BUSY_POLL and its hand-offs to the watchdog timer), a blocking recv() receiver
 * (SO_BUSY_POLL / busy_read), a non-blocking one spinning on EAGAIN, and an epoll receiver with
 * epoll busy poll and IRQ suspension (ep_busy_loop, napi_suspend_irqs / napi_resume_irqs).
 */
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import { type Napi, napiSchedule, napiScheduleOn } from "./napi.js";
import { recvChunk, recvCost } from "./receivers.js";
import type { LocalStack, UdpSocket } from "./socket.js";
import { bhEnableRunsSoftirq, doSoftirq, localBhEnable } from "./softirq.js";
import { RESCHED, SLEEP, type Task } from "./task.js";

/** BUSY_POLL_BUDGET: what napi_busy_loop polls per round unless the socket/epoll sets a budget. */
export const BUSY_POLL_BUDGET = 8;
/** Longest spin the model charges as one chunk while the ring stays empty (model granularity). */
const SPIN_MAX_NS = 5_000;
/** A look at a NAPI someone else owns, then cpu_relax(), charged per round (model granularity). */
const LOOK_NS = 1_000;

export const RECEIVER_KINDS = ["blocking", "nonblocking", "epoll"] as const;
export type ReceiverKind = (typeof RECEIVER_KINDS)[number];

export interface BusyPollSettings {
  /** The NAPI the socket's packets came through (sk->sk_napi_id). */
  napi: Napi;
  /** SO_BUSY_POLL / net.core.busy_read (sockets) or busy_poll_usecs (epoll), ns; 0 = off. */
  busyNs: number;
  /** SO_PREFER_BUSY_POLL (sockets) or EPIOCSPARAMS prefer_busy_poll (epoll). */
  prefer: boolean;
  /** SO_BUSY_POLL_BUDGET / busy_poll_budget. */
  budget: number;
}

/**
 * __local_bh_enable_ip() with preemption disabled: run pending softirqs here (do_softirq), but no
 * preemption point (preempt_count is still raised by napi_busy_loop's preempt_disable()).
 */
function* bhEnableNoPreempt(k: Kernel, task: Task): Generator<number, void, void> {
  task.bh--;
  if (task.bh > 0) return;
  const cpu = k.cpus[task.cpu] as Cpu;
  if (bhEnableRunsSoftirq(k, cpu)) {
    task.bh++;
    task.softirqCtx++;
    yield* doSoftirq(k, cpu);
    task.softirqCtx--;
    task.bh--;
  }
}

/**
 * busy_poll_stop(): drop MISSED and IN_BUSY_POLL; with PREFER_BUSY_POLL arm the watchdog with
 * irq_suspend_timeout, else (napi_defer_hard_irqs set) with gro_flush_timeout, and if armed skip
 * the softirq; poll once more with the full budget (the driver completes and re-arms its IRQ, or
 * napi_complete_done defers it); if that poll used the whole budget, __napi_schedule() into
 * NET_RX, or with the timer armed just clear SCHED and leave the NAPI to the timer.
 */
export function* busyPollStop(k: Kernel, task: Task, s: BusyPollSettings): Generator<number, void, void> {
  const napi = s.napi;
  napi.missed = false;
  napi.inBusyPoll = false;
  task.bh++;
  let cpu = k.cpus[task.cpu] as Cpu;
  let skipSchedule = false;
  const tun = napi.tun;
  if (s.prefer && tun !== null) {
    let timeout = tun.knobs.irqSuspendTimeoutNs;
    if (!timeout) {
      tun.deferCount = tun.knobs.deferHardIrqs;
      if (tun.deferCount) timeout = tun.knobs.groFlushTimeoutNs;
    }
    if (timeout) {
      tun.arm(timeout, cpu);
      skipSchedule = true;
    }
  }
  const rc = yield* napi.driver.poll(napi, s.budget, cpu);
  napi.polls++;
  napi.packets += rc;
  cpu = k.cpus[task.cpu] as Cpu;
  if (rc >= s.budget) {
    if (!skipSchedule)
      napiScheduleOn(napi, cpu); // __busy_poll_stop: __napi_schedule()
    else napi.sched = false; // __busy_poll_stop: clear_bit(NAPI_STATE_SCHED)
  }
  yield* bhEnableNoPreempt(k, task);
}

/**
 * napi_busy_loop() (__napi_busy_loop): with preemption off, take the NAPI when nobody owns it
 * (SCHED|IN_BUSY_POLL, plus PREFER_BUSY_POLL when preferred; an owned NAPI only gets the prefer
 * bit), poll it with BHs off, re-enable BHs (pending softirqs run), then stop when loop_end says so
 * (`done` null: one round, the non-blocking case); on need_resched release it (busy_poll_stop),
 * cond_resched() and start again; at the end busy_poll_stop().
 */
export function* napiBusyLoop(
  k: Kernel,
  task: Task,
  s: BusyPollSettings,
  done: (() => boolean) | null,
  deadline: number,
): Generator<number, void, void> {
  const napi = s.napi;
  const wasPreemptible = task.preemptible;
  task.preemptible = false; // preempt_disable()
  let owned = false;
  for (;;) {
    let cpu = k.cpus[task.cpu] as Cpu;
    task.bh++;
    let work = 0;
    if (!owned) {
      if (napi.sched || napi.inBusyPoll) {
        if (s.prefer && napi.tun !== null) napi.tun.preferBusyPoll = true;
      } else {
        napi.sched = true;
        napi.inBusyPoll = true;
        if (s.prefer && napi.tun !== null) napi.tun.preferBusyPoll = true;
        owned = true;
      }
    }
    if (owned) {
      work = yield* napi.driver.poll(napi, s.budget, cpu);
      napi.polls++;
      napi.packets += work;
    } else {
      yield k.f.busyPollEmptyNs;
    }
    yield* bhEnableNoPreempt(k, task);
    cpu = k.cpus[task.cpu] as Cpu;
    if (done === null || done() || k.q.now >= deadline) break;
    if (cpu.needResched) {
      if (owned) yield* busyPollStop(k, task, s);
      owned = false;
      task.preemptible = wasPreemptible;
      yield RESCHED; // cond_resched()
      task.preemptible = false;
      continue;
    }
    // cpu_relax() and round again: an empty ring is looked at once per chunk, up to the next landing
    const now = k.q.now;
    if (owned && work === 0) {
      const next = napi.driver.nextArrival?.(now) ?? now + SPIN_MAX_NS;
      yield Math.max(k.f.busyPollEmptyNs, Math.min(next - now, SPIN_MAX_NS, deadline - now));
    } else if (!owned) {
      yield Math.max(k.f.busyPollEmptyNs, Math.min(LOOK_NS, deadline - now));
    }
  }
  if (owned) yield* busyPollStop(k, task, s);
  task.preemptible = wasPreemptible;
  if ((k.cpus[task.cpu] as Cpu).needResched) yield RESCHED; // preempt_enable()
}

/**
 * A blocking recv() loop (netserver-like) on a socket with SO_BUSY_POLL: __skb_recv_udp finds the
 * queue empty, sk_busy_loop() spins up to busy_read (loop_end: sk_busy_loop_end, data or timeout),
 * and only then __skb_wait_for_more_packets() sleeps.
 */
export function* blockingReceiverBody(
  k: Kernel,
  task: Task,
  sock: UdpSocket,
  stack: LocalStack,
  payload: number,
  s: BusyPollSettings,
): Generator<number, void, void> {
  const per = recvCost(k, payload);
  const ready = () => sock.queue.length > 0;
  for (;;) {
    if (sock.queue.length > 0) {
      sock.waiter = null;
      yield* recvChunk(k, task, sock, stack, per);
      continue;
    }
    if (s.busyNs > 0) {
      yield* napiBusyLoop(k, task, s, ready, k.q.now + s.busyNs);
      if (sock.queue.length > 0) continue;
    }
    sock.waiter = task;
    yield SLEEP;
  }
}

/**
 * A non-blocking receiver: recv(MSG_DONTWAIT) in a loop that never sleeps. On an empty socket the
 * call busy polls one round when SO_BUSY_POLL is set (sk_busy_loop with nonblock: loop_end NULL),
 * else returns EAGAIN at once; each empty call costs a syscall and ends with the queue lock's
 * spin_unlock_bh (pending softirqs run), and returning to user space is a preemption point.
 */
export function* nonblockingReceiverBody(
  k: Kernel,
  task: Task,
  sock: UdpSocket,
  stack: LocalStack,
  payload: number,
  s: BusyPollSettings,
): Generator<number, void, void> {
  const per = recvCost(k, payload);
  for (;;) {
    if (sock.queue.length > 0) {
      yield* recvChunk(k, task, sock, stack, per);
      continue;
    }
    if (s.busyNs > 0) {
      yield* napiBusyLoop(k, task, s, null, k.q.now);
      if (sock.queue.length > 0) continue; // the same recv() takes the datagram (recvChunk charges it)
    }
    yield k.f.recvSyscallNs; // -EAGAIN
    const cpu = k.cpus[task.cpu] as Cpu;
    if (bhEnableRunsSoftirq(k, cpu)) {
      task.bh++;
      yield* localBhEnable(k, task);
    }
    if ((k.cpus[task.cpu] as Cpu).needResched) yield RESCHED;
  }
}

/**
 * An epoll receiver (one socket in the set, non-blocking recv() until EAGAIN after each wake-up)
 * with epoll busy poll: ep_poll() returns ready events at once, else ep_busy_loop() busy polls up to
 * busy_poll_usecs (with prefer_busy_poll it runs even at 0 usecs: one round). Found events with
 * prefer_busy_poll suspend IRQs (ep_try_send_events -> napi_suspend_irqs: the watchdog armed with
 * irq_suspend_timeout); a busy loop that found nothing resumes them (napi_resume_irqs:
 * napi_schedule under local_bh_disable) before ep_poll sleeps.
 */
export function* epollReceiverBody(
  k: Kernel,
  task: Task,
  sock: UdpSocket,
  stack: LocalStack,
  payload: number,
  s: BusyPollSettings,
): Generator<number, void, void> {
  const per = recvCost(k, payload);
  const ready = () => sock.queue.length > 0;
  const tun = s.napi.tun;
  for (;;) {
    yield k.f.recvSyscallNs; // epoll_wait() entry and exit (model: one syscall's cost)
    let events = sock.queue.length > 0;
    if (!events && (s.busyNs > 0 || s.prefer)) {
      yield* napiBusyLoop(k, task, s, ready, k.q.now + s.busyNs);
      events = sock.queue.length > 0;
      if (!events && s.prefer && tun?.knobs.irqSuspendTimeoutNs) {
        task.bh++; // napi_resume_irqs(): local_bh_disable(); napi_schedule(); local_bh_enable()
        napiSchedule(s.napi, k.cpus[task.cpu] as Cpu);
        yield* localBhEnable(k, task);
      }
    }
    if (!events) {
      sock.waiter = task;
      yield SLEEP;
      if (sock.queue.length === 0) continue;
    }
    // ep_try_send_events() returned events: ep_suspend_napi_irqs() -> napi_suspend_irqs()
    if (s.prefer && tun?.knobs.irqSuspendTimeoutNs)
      tun.arm(tun.knobs.irqSuspendTimeoutNs, k.cpus[task.cpu] as Cpu);
    while (sock.queue.length > 0) yield* recvChunk(k, task, sock, stack, per);
    yield k.f.recvSyscallNs; // the recv() that returns EAGAIN
  }
}
