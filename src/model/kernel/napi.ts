/**
 * NAPI: the state bits (SCHED, MISSED, THREADED, SCHED_THREADED, threaded busy poll), scheduling
 * onto a CPU's poll list or waking the instance's kthread, completion, and the napi/<dev>-<id>
 * kthread loop. The NET_RX softirq handler (net_rx_action) is in softirq.ts, inlined in __do_softirq.
 */
import type { NapiMode } from "../../core/vocabulary.js";
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import { BH_DONE, BhEnableRun, NET_RX_SOFTIRQ } from "./softirq.js";
import { RESCHED, SLEEP, type StepBody, type Task } from "./task.js";

/** A driver's rx side as NAPI sees it. */
export interface NapiDriver {
  /**
   * The driver's ->poll(): process up to `budget` packets, yielding CPU chunks; returns the work
   * done. When it does less than the budget it calls napiCompleteDone and re-arms its interrupt.
   */
  poll(n: Napi, budget: number, cpu: Cpu): Generator<number, number, void>;
  /**
   * Optional resumable form of poll() for the per-datagram paths (no generator frame per poll):
   * pollBegin starts it, each pollStep returns the next CPU chunk in ns or -1 when the poll has
   * finished, and pollWork then holds what poll() would have returned. Same steps as poll().
   */
  pollBegin?(n: Napi, budget: number, cpu: Cpu): void;
  pollStep?(): number;
  pollWork?: number;
  /** Time of the next packet the driver knows will arrive (for busy-poll spinning), if known. */
  nextArrival?(now: number): number;
  /** Re-enable the interrupt after a busy poller released the instance (busy_poll_stop). */
  rearm?(): void;
}

export class Napi {
  readonly id: number;
  readonly name: string;
  readonly k: Kernel;
  readonly weight: number;
  driver: NapiDriver;
  // NAPI_STATE_* bits
  sched = false;
  missed = false;
  threaded = false;
  schedThreaded = false;
  /** NAPI_STATE_THREADED_BUSY_POLL: the kthread keeps polling instead of re-arming the IRQ. */
  busyPoll = false;
  /** NAPI_STATE_IN_BUSY_POLL: a busy poller owns it, so napi_complete_done must not release it. */
  inBusyPoll = false;
  /** The napi/<dev>-<id> kthread, created on first switch to threaded (napi_kthread_create). */
  thread: Task | null = null;
  /**
   * The per-NAPI knobs of the busy-polling family and their state (napi_defer_hard_irqs,
   * gro_flush_timeout, irq_suspend_timeout, PREFER_BUSY_POLL, the watchdog hrtimer), attached only
   * when a configuration uses them (napi-timer.ts); null keeps the plain completion.
   */
  tun: import("./napi-timer.js").NapiTimer | null = null;
  threadCpus: number[] | null = null;
  polls = 0;
  packets = 0;

  constructor(k: Kernel, id: number, name: string, driver: NapiDriver, weight: number) {
    this.k = k;
    this.id = id;
    this.name = name;
    this.driver = driver;
    this.weight = weight;
  }

  get mode(): NapiMode {
    return !this.threaded ? "softirq" : this.busyPoll ? "busy-poll" : "threaded";
  }
}

/** napi_schedule_prep(): claim SCHED, or record MISSED if someone already owns it. */
export function napiSchedulePrep(n: Napi): boolean {
  if (n.sched) {
    n.missed = true;
    return false;
  }
  n.sched = true;
  return true;
}

/** ____napi_schedule(): wake the kthread if threaded, else queue on this CPU and raise NET_RX. */
export function napiScheduleOn(n: Napi, cpu: Cpu): void {
  if (n.threaded && n.thread) {
    n.schedThreaded = true;
    n.k.wake(n.thread);
    return;
  }
  cpu.pollList.push(n);
  cpu.softirqPending |= NET_RX_SOFTIRQ; // __raise_softirq_irqoff: runs at irq exit / bh enable
}

/** napi_schedule() from an interrupt handler on `cpu`. */
export function napiSchedule(n: Napi, cpu: Cpu): void {
  if (napiSchedulePrep(n)) napiScheduleOn(n, cpu);
}

/**
 * napi_complete_done(): release SCHED unless a busy poller owns the instance; if MISSED was set
 * meanwhile, keep it scheduled and reschedule it. Returns true when the driver may re-arm its IRQ.
 */
export function napiCompleteDone(n: Napi, cpu: Cpu, work = 0): boolean {
  if (n.inBusyPoll) return false;
  if (n.tun !== null) return n.tun.completeDone(cpu, work);
  n.schedThreaded = false;
  if (n.missed) {
    n.missed = false;
    napiScheduleOn(n, cpu);
    return false;
  }
  n.sched = false;
  return true;
}

/**
 * napi_set_threaded()/dev_set_threaded(): set or clear THREADED (and threaded busy poll). A NAPI
 * being polled keeps its current context until it completes: the bit is read at the next
 * ____napi_schedule, and a kthread that owns it hands it to softirq at its next round.
 */
export function napiSetMode(n: Napi, mode: NapiMode, makeThread: (n: Napi) => Task): void {
  if (mode !== "softirq" && n.thread === null) n.thread = makeThread(n);
  n.threaded = mode !== "softirq";
  n.busyPoll = mode === "busy-poll";
}

/** How long a threaded busy poller spins on an empty ring before looking again (model step). */
const BUSY_SPIN_MAX_NS = 5_000;

/**
 * napi_threaded_poll(): wait for SCHED_THREADED (napi_thread_wait), then napi_threaded_poll_loop:
 * poll with BHs disabled, local_bh_enable (which runs pending softirqs), cond_resched between
 * rounds, until the poll completes; in busy-poll mode keep polling.
 */
export function napiThreadBody(k: Kernel, n: Napi, task: Task): StepBody {
  return new NapiThreadBody(k, n, task);
}

const NT_WAIT = 0;
const NT_POLL = 1;
const NT_POLLING = 2;
const NT_BH = 3;
const NT_AFTER_SPIN = 4;
const NT_AFTER_BUDGET_RESCHED = 5;
const NT_AFTER_RESCHED = 6;

/** napiThreadBody as a resumable state machine (no generator frames per poll). */
class NapiThreadBody implements StepBody {
  private phase = NT_WAIT;
  private readonly budgetResched: boolean;
  private sinceResched = 0;
  private busy = false;
  private work = 0;
  private repoll = false;
  private gen: Generator<number, number, void> | null = null;
  private readonly bh: BhEnableRun;

  constructor(
    readonly k: Kernel,
    readonly n: Napi,
    readonly task: Task,
  ) {
    this.budgetResched = k.f.napiThreadBudgetResched !== 0;
    this.bh = new BhEnableRun(k, task);
  }

  step(): number {
    const k = this.k;
    const n = this.n;
    const task = this.task;
    for (;;) {
      switch (this.phase) {
        case NT_WAIT:
          if (!n.schedThreaded) return SLEEP;
          this.phase = NT_POLL;
          break;
        case NT_POLL: {
          const cpu = k.cpus[task.cpu] as Cpu;
          const busy = n.busyPoll;
          this.busy = busy;
          n.inBusyPoll = busy;
          task.bh++;
          const d = n.driver;
          if (d.pollBegin !== undefined) d.pollBegin(n, n.weight, cpu);
          else this.gen = d.poll(n, n.weight, cpu);
          this.phase = NT_POLLING;
          break;
        }
        case NT_POLLING: {
          let work: number;
          const gen = this.gen;
          if (gen === null) {
            const d = n.driver;
            const c = d.pollStep!();
            if (c >= 0) return c;
            work = d.pollWork as number;
          } else {
            const r = gen.next();
            if (!r.done) return r.value;
            work = r.value;
            this.gen = null;
          }
          this.work = work;
          n.polls++;
          n.packets += work;
          this.bh.begin();
          this.phase = NT_BH;
          break;
        }
        case NT_BH: {
          const c = this.bh.step();
          if (c !== BH_DONE) return c;
          const work = this.work;
          this.repoll = work >= n.weight;
          if (this.repoll && n.tun?.preferBusyPoll) {
            n.tun.preferExit(k.cpus[task.cpu] as Cpu, work); // __napi_poll(): busy polling preferred
            this.repoll = false;
          }
          if (!n.threaded && n.schedThreaded) {
            // switched to softirq while this thread owned it: give the instance to NET_RX
            n.schedThreaded = false;
            n.inBusyPoll = false;
            if (n.sched) {
              const here = k.cpus[task.cpu] as Cpu;
              here.pollList.push(n);
              here.raiseSoftirq(NET_RX_SOFTIRQ);
            }
            this.endLoop();
            break;
          }
          this.phase = NT_AFTER_SPIN;
          if (this.busy && work === 0) {
            // spinning on an empty ring: charge the spin up to the next known arrival in one chunk
            const now = k.q.now;
            const next = n.driver.nextArrival?.(now) ?? now + BUSY_SPIN_MAX_NS;
            return Math.round(Math.max(k.f.busyPollEmptyNs, Math.min(next - now, BUSY_SPIN_MAX_NS)));
          }
          break;
        }
        case NT_AFTER_SPIN:
          // the seed's 2016 proposal: explicit scheduling points every netdev_budget packets, even when
          // each poll completes and the instance is rescheduled at once (virtqueue_poll, MISSED)
          this.sinceResched += this.work;
          this.phase = NT_AFTER_BUDGET_RESCHED;
          if (this.budgetResched && this.sinceResched >= k.f.netdevBudget) {
            this.sinceResched = 0;
            return RESCHED;
          }
          break;
        case NT_AFTER_BUDGET_RESCHED:
          if (!this.repoll && !this.busy) {
            this.endLoop();
            break;
          }
          this.phase = NT_AFTER_RESCHED;
          return RESCHED;
        default:
          this.sinceResched = 0;
          if (!this.repoll) this.endLoop();
          else this.phase = NT_POLL;
      }
    }
  }

  /** The poll loop ends: back to waiting for SCHED_THREADED. */
  private endLoop(): void {
    if (!this.n.busyPoll) this.n.inBusyPoll = false;
    this.phase = NT_WAIT;
  }
}
