/**
 * Softirq processing: the __do_softirq restart loop with its time and restart limits, the
 * ksoftirqd thread, and softirqs run at local_bh_enable. Which context runs them at irq exit is the
 * CPU's business (Cpu.irqExit, following the profile's softirqPolicy).
 */

import { netdevBudgetUsecsOf } from "../profile.js";
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import type { Napi } from "./napi.js";
import { PREEMPT, RESCHED, SLEEP, type StepBody, type Task } from "./task.js";

/** NET_RX_SOFTIRQ's bit in the pending mask (the only softirq vector the model runs). */
export const NET_RX_SOFTIRQ = 1 << 3;

/** msecs_to_jiffies(): rounds up, so 2 ms is 1 jiffy at HZ=250 and 2 at HZ=1000. */
export function msecsToJiffies(k: Kernel, ms: number): number {
  return Math.ceil((ms * k.f.hz) / 1000);
}

/** usecs_to_jiffies(): rounds up. */
export function usecsToJiffies(k: Kernel, us: number): number {
  return Math.ceil((us * k.f.hz) / 1e6);
}

/**
 * __do_softirq(): run pending vectors; restart while more were raised, as long as the time limit
 * (MAX_SOFTIRQ_TIME, in jiffies) has not passed, no reschedule is wanted and MAX_SOFTIRQ_RESTART
 * rounds are left; otherwise hand the rest to ksoftirqd (wakeup_softirqd).
 *
 * A resumable state machine rather than a generator: softirq mode runs one __do_softirq per
 * interrupt, about one per datagram, and a generator frame per run (plus the driver's) was most of
 * the model's allocation. NET_RX's handler, net_rx_action(), is written inline in it; the driver's
 * poll is stepped through its own resumable form where it has one (NapiDriver.pollStep).
 */
export class SoftirqRun {
  readonly k: Kernel;
  readonly cpu: Cpu;
  /** A run is in progress (between begin() and the step() that returns -1). */
  active = false;
  private phase = SR_DONE;
  private end = 0;
  private restart = 0;
  private timeLimit = 0;
  private budget = 0;
  private list: Napi[] = [];
  private repoll: Napi[] | null = null;
  private i = 0;
  private napi: Napi | null = null;
  /** The poll of a driver without a resumable form. */
  private gen: Generator<number, number, void> | null = null;

  constructor(k: Kernel, cpu: Cpu) {
    this.k = k;
    this.cpu = cpu;
  }

  /** Start a __do_softirq on this CPU now; then call step() until it returns -1. */
  begin(): void {
    this.active = true;
    this.end = this.cpu.jiffies() + msecsToJiffies(this.k, this.k.f.maxSoftirqTimeMs);
    this.restart = this.k.f.maxSoftirqRestart;
    this.phase = SR_ROUND;
  }

  /** The next CPU chunk (ns) of the run, or -1 when it has finished. */
  step(): number {
    const cpu = this.cpu;
    for (;;) {
      switch (this.phase) {
        case SR_ROUND: {
          const pending = cpu.softirqPending;
          cpu.softirqPending = 0;
          if ((pending & NET_RX_SOFTIRQ) === 0) {
            this.phase = SR_END_ROUND;
            break;
          }
          // net_rx_action(): poll the CPU's NAPIs round-robin until the list is empty, netdev_budget
          // packets are done or netdev_budget_usecs (in jiffies) have passed; a cut-short round counts a
          // time_squeeze and re-raises NET_RX for what is left.
          // time_limit = jiffies + usecs_to_jiffies(netdev_budget_usecs)
          this.timeLimit = cpu.jiffies() + usecsToJiffies(this.k, netdevBudgetUsecsOf(this.k.f));
          this.budget = this.k.f.netdevBudget;
          this.list = cpu.pollList;
          // the list NAPIs scheduled meanwhile go on: the CPU's spare (empty) array, to allocate nothing
          const fresh = cpu.pollSpare ?? [];
          cpu.pollSpare = null;
          cpu.pollList = fresh;
          this.repoll = null;
          this.i = 0;
          this.phase = SR_NEXT_NAPI;
          break;
        }
        case SR_NEXT_NAPI: {
          if (this.i >= this.list.length) {
            this.phase = SR_MERGE;
            break;
          }
          const n = this.list[this.i++] as Napi;
          // napi_poll(): poll once; a NAPI that used its whole weight goes on the repoll list
          if (!n.sched) {
            this.afterPoll(n, 0);
            break;
          }
          this.napi = n;
          const d = n.driver;
          if (d.pollBegin !== undefined) d.pollBegin(n, n.weight, cpu);
          else this.gen = d.poll(n, n.weight, cpu);
          this.phase = SR_POLLING;
          break;
        }
        case SR_POLLING: {
          const n = this.napi as Napi;
          let work: number;
          if (this.gen === null) {
            const d = n.driver;
            const c = d.pollStep!();
            if (c >= 0) return c;
            work = d.pollWork as number;
          } else {
            const r = this.gen.next();
            if (!r.done) return r.value;
            work = r.value;
            this.gen = null;
          }
          this.napi = null;
          this.afterPoll(n, work);
          break;
        }
        case SR_MERGE: {
          // leftovers first, then NAPIs scheduled meanwhile, then the ones that want another round
          const list = this.list;
          const rest = cpu.pollList;
          const repoll = this.repoll;
          let w = 0;
          for (let j = this.i; j < list.length; j++) list[w++] = list[j] as Napi;
          for (let j = 0; j < rest.length; j++) list[w++] = rest[j] as Napi;
          if (repoll !== null) for (let j = 0; j < repoll.length; j++) list[w++] = repoll[j] as Napi;
          while (list.length > w) list.pop(); // (pop: cheaper than setting length, a runtime call)
          cpu.pollList = list;
          while (rest.length > 0) rest.pop();
          cpu.pollSpare = rest;
          this.list = EMPTY;
          this.repoll = null;
          if (w > 0) cpu.softirqPending |= NET_RX_SOFTIRQ;
          this.phase = SR_END_ROUND;
          break;
        }
        case SR_END_ROUND: {
          if (cpu.softirqPending !== 0) {
            if (cpu.jiffies() < this.end && !cpu.needResched && --this.restart > 0) {
              this.phase = SR_ROUND;
              break;
            }
            cpu.wakeupSoftirqd();
          }
          this.phase = SR_DONE;
          this.active = false;
          return -1;
        }
        default:
          throw new Error(`cpu ${cpu.id}: softirq run stepped while not active`);
      }
    }
  }

  /** napi_poll()'s accounting after one poll, and net_rx_action's budget and time checks. */
  private afterPoll(n: Napi, work: number): void {
    const cpu = this.cpu;
    n.polls++;
    n.packets += work;
    if (work >= n.weight) {
      // __napi_poll(): busy polling is preferred, so give the instance up instead of repolling
      if (n.tun?.preferBusyPoll) n.tun.preferExit(cpu, work);
      else {
        if (this.repoll === null) this.repoll = [];
        this.repoll.push(n);
      }
    }
    this.budget -= work;
    const outOfBudget = this.budget <= 0;
    if (outOfBudget || cpu.jiffies() >= this.timeLimit) {
      cpu.softnet.timeSqueeze++;
      if (outOfBudget) cpu.softnet.squeezeBudget++;
      else cpu.softnet.squeezeTime++;
      this.phase = SR_MERGE;
    } else this.phase = SR_NEXT_NAPI;
  }
}

const SR_DONE = 0;
const SR_ROUND = 1;
const SR_NEXT_NAPI = 2;
const SR_POLLING = 3;
const SR_MERGE = 4;
const SR_END_ROUND = 5;
const EMPTY: Napi[] = [];

/** __do_softirq() from task context (ksoftirqd, local_bh_enable): a generator over a SoftirqRun. */
export function* doSoftirq(_k: Kernel, cpu: Cpu): Generator<number, void, void> {
  const run = cpu.softirqRun();
  run.begin();
  for (;;) {
    const c = run.step();
    if (c < 0) return;
    yield c;
  }
}

/** run_ksoftirqd() in the smpboot loop: process pending softirqs with BHs disabled, then cond_resched(). */
export function ksoftirqdBody(k: Kernel, cpu: Cpu, task: Task): StepBody {
  return new KsoftirqdBody(k, cpu, task);
}

class KsoftirqdBody implements StepBody {
  private run: SoftirqRun | null = null;
  constructor(
    readonly k: Kernel,
    readonly cpu: Cpu,
    readonly task: Task,
  ) {}

  step(): number {
    const run = this.run;
    if (run !== null) {
      const c = run.step();
      if (c >= 0) return c;
      this.run = null;
      this.task.bh--;
      return RESCHED;
    }
    if (this.cpu.softirqPending === 0) return SLEEP; // ksoftirqd_should_run() is false
    this.task.bh++;
    const r = this.cpu.softirqRun();
    r.begin();
    this.run = r;
    return this.step();
  }
}

/** step() of a BhEnableRun that has finished: the caller goes on in the same step. */
export const BH_DONE = -100;

/**
 * local_bh_enable() from task context as a resumable step, for the state-machine bodies: at depth
 * 0, run pending softirqs here (do_softirq) unless the "4.9" policy defers them to a runnable
 * ksoftirqd, then a preemption point (preempt_check_resched). Same steps as localBhEnable().
 */
export class BhEnableRun {
  private run: SoftirqRun | null = null;
  private preempt = false;
  constructor(
    readonly k: Kernel,
    readonly task: Task,
  ) {}

  /** Drop one BH-disable level; then call step() until it returns BH_DONE. */
  begin(): void {
    const task = this.task;
    task.bh--;
    this.run = null;
    this.preempt = false;
    if (task.bh > 0) return;
    this.preempt = true;
    const cpu = this.k.cpus[task.cpu] as Cpu;
    if (bhEnableRunsSoftirq(this.k, cpu)) {
      task.bh++;
      task.softirqCtx++; // in_serving_softirq(): irqtime_account_irq() counts this as softirq time
      const r = cpu.softirqRun();
      r.begin();
      this.run = r;
    }
  }

  step(): number {
    const run = this.run;
    if (run !== null) {
      const c = run.step();
      if (c >= 0) return c;
      this.run = null;
      this.task.softirqCtx--;
      this.task.bh--;
    }
    if (this.preempt) {
      this.preempt = false;
      return PREEMPT; // preempt_check_resched() at the end of __local_bh_enable_ip
    }
    return BH_DONE;
  }
}

/**
 * local_bh_enable() from task context: at depth 0, run pending softirqs here (do_softirq), unless
 * the "4.9" policy defers them to a runnable ksoftirqd.
 */
export function* localBhEnable(k: Kernel, task: Task): Generator<number, void, void> {
  const bh = new BhEnableRun(k, task);
  bh.begin();
  for (;;) {
    const c = bh.step();
    if (c === BH_DONE) return;
    yield c;
  }
}

/**
 * Whether a local_bh_enable() on this CPU now would run softirqs (__local_bh_enable_ip ->
 * do_softirq): something is pending, we are not in interrupt, and under the "4.9" policy
 * do_softirq() does not defer to a runnable ksoftirqd (ksoftirqd_running()).
 */
export function bhEnableRunsSoftirq(k: Kernel, cpu: Cpu): boolean {
  return cpu.softirqPending !== 0 && !cpu.inInterrupt() && !(k.policy === "4.9" && cpu.ksoftirqdRunning());
}
