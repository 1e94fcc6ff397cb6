/**
 * A CPU and its execution contexts. Three levels run work in chunks: hardirq (interrupt handlers),
 * softirq in interrupt context (__do_softirq invoked at irq_exit), and task level (the current
 * task's body, which may itself run softirqs as ksoftirqd or at local_bh_enable). A higher level
 * pauses the one below; a paused chunk keeps its remaining time and resumes where it stopped, which
 * gives exact preemption without per-packet events. A virtual CPU (a guest vCPU) runs only while its
 * backing host thread is on a host CPU: the host pauses and resumes it like a preemption.
 */
import type { Kernel } from "./kernel.js";
import { RunQueue } from "./sched.js";
import { NET_RX_SOFTIRQ, SoftirqRun } from "./softirq.js";
import {
  PREEMPT,
  RESCHED,
  RUN_GUEST,
  RUNNING,
  SLEEP,
  SLEEPING,
  TASK_KINDS,
  type Task,
  type TaskKind,
} from "./task.js";

export interface IrqAction {
  name: string;
  costNs: number;
  handler: (cpu: Cpu) => void;
}

const EXEC_IDLE = 0;
const EXEC_TASK = 1;
const EXEC_SOFT = 2;
const EXEC_HARD = 3;
const EXEC_PAUSED = 4;

/** softnet_data counters (what /proc/net/softnet_stat shows), plus squeezes split by cause. */
export interface SoftnetStats {
  processed: number;
  dropped: number;
  timeSqueeze: number;
  squeezeBudget: number;
  squeezeTime: number;
}

export class Cpu {
  readonly id: number;
  readonly k: Kernel;
  readonly rq: RunQueue;
  /** Physical CPUs always run; a virtual CPU runs only while its vCPU thread is on a host CPU. */
  running: boolean;
  needResched = false;
  softirqPending = 0;
  pendingIrqs: IrqAction[] = [];
  ksoftirqd!: Task;
  /** softnet_data.poll_list: NAPIs to poll in NET_RX softirq on this CPU. */
  pollList: import("./napi.js").Napi[] = [];
  /** An empty array net_rx_action reuses as the next poll list (null while one is in use). */
  pollSpare: import("./napi.js").Napi[] | null = null;
  softnet: SoftnetStats = { processed: 0, dropped: 0, timeSqueeze: 0, squeezeBudget: 0, squeezeTime: 0 };

  // time split (ns)
  hardirqNs = 0;
  softirqNs = 0;
  /**
   * Time in which a tick coming due would be charged as softirq by the kernel's tick sample
   * (account_process_tick -> account_system_time: in_serving_softirq() at the tick), over the tick's
   * phase: /proc/stat's softirq column without CONFIG_IRQ_TIME_ACCOUNTING. See sendIpi().
   */
  tickSoftirqNs = 0;
  /** IPIs sent to this CPU (sendIpi) that it has not taken yet. */
  private ipisOnTheWay = 0;
  idleNs = 0;
  pausedNs = 0;
  /** Task time on this CPU by kind of task, indexed like TASK_KINDS. */
  taskNs = new Float64Array(TASK_KINDS.length);

  /** Virtual CPU hooks: the guest halted (nothing to run) / the guest has an interrupt to take. */
  onIdle: (() => void) | null = null;
  onWork: (() => void) | null = null;
  /** For a vCPU task's host CPU: the guest CPU currently entered on this CPU. */
  private guestOn: Cpu | null = null;
  tickPending = false;

  /** In a hardirq (the hardirq body below is running or paused); was a generator, kept as state for speed. */
  private inHard = false;
  /** The interrupt whose handler runs when the current hardirq chunk (its cost) has been charged. */
  private hardAction: IrqAction | null = null;
  private hardRemaining = 0;
  /** The __do_softirq run at irq exit in progress (softirq context), or null. */
  private softRun: SoftirqRun | null = null;
  /** A reusable __do_softirq state machine (a CPU runs at most one at a time, see softirqRun()). */
  private readonly softCache: SoftirqRun;
  private softRemaining = 0;
  private exec = EXEC_IDLE;
  private execStart = 0;
  private endGen = 0;
  private inDispatch = false;
  private again = false;

  private readonly irqTimeAccounting: boolean;
  private readonly fullPreempt: boolean;

  constructor(k: Kernel, id: number, running: boolean) {
    this.k = k;
    this.irqTimeAccounting = k.f.irqTimeAccounting !== 0;
    this.fullPreempt = k.f.kernelPreempt !== 0;
    this.timerIrq.costNs = k.f.timerIrqNs;
    this.softCache = new SoftirqRun(k, this);
    this.id = id;
    this.running = running;
    this.exec = running ? EXEC_IDLE : EXEC_PAUSED;
    // update_sysctl(): the profile's tunables are the normalized ones, scaled by the CPU count
    const scale = k.sysctlFactor;
    this.rq = new RunQueue(
      id,
      {
        fairClass: k.fairClass,
        cfsLatencyNs: k.f.cfsLatencyNs * scale,
        cfsMinGranularityNs: k.f.cfsMinGranularityNs * scale,
        cfsWakeupGranularityNs: k.f.cfsWakeupGranularityNs * scale,
        baseSliceNs: k.f.schedBaseSliceNs * scale,
        rrTimesliceNs: k.f.rrTimesliceNs,
        tickNs: k.tickNs,
        runToParity: k.f.runToParity !== 0,
      },
      k.load,
    );
  }

  /** jiffies, the tick counter the kernel's time limits are written in. */
  jiffies(): number {
    return Math.floor(this.k.q.now / this.k.tickNs);
  }

  get curr(): Task | null {
    return this.rq.curr;
  }

  /** True when nothing runs and nothing waits (idle_cpu()). */
  isIdle(): boolean {
    return this.rq.curr === null && this.rq.nrQueued === 0;
  }

  /** in_interrupt(): in a hardirq, a softirq, or a bottom-half-disabled section. */
  inInterrupt(): boolean {
    return this.inHard || this.softRun !== null || (this.rq.curr !== null && this.rq.curr.bh > 0);
  }

  /** A device interrupt arrives at this CPU (the IRQ's affinity chose it). */
  raiseIrq(action: IrqAction): void {
    this.pendingIrqs.push(action);
    if (this.running) this.dispatch();
    else this.onWork?.();
  }

  /**
   * An IPI from another CPU whose handler raises NET_RX (RPS kick, skb defer kick), taken latencyNs
   * later (at once when 0). On a guest the tick waits with it: ftrace on this project's Firecracker VM
   * shows 57-81% of the rx CPU's ticks taken right after an RPS IPI, in the softirq its irq_exit
   * starts, so a tick due while an IPI is on its way is charged as softirq (see settle()).
   */
  sendIpi(action: IrqAction, latencyNs: number): void {
    if (latencyNs <= 0) {
      this.raiseIrq(action);
      return;
    }
    this.settle();
    this.ipisOnTheWay++;
    this.k.q.after(latencyNs, () => {
      this.settle();
      this.ipisOnTheWay--;
      this.raiseIrq(action);
    });
  }

  /** __raise_softirq_irqoff + raise_softirq_irqoff: mark pending; outside interrupt wake ksoftirqd. */
  raiseSoftirq(nr: number): void {
    this.softirqPending |= nr;
    if (!this.inInterrupt()) this.wakeupSoftirqd();
  }

  /** wakeup_softirqd(): wake ksoftirqd unless it is already runnable. */
  wakeupSoftirqd(): void {
    if (this.ksoftirqd.state !== RUNNING) this.k.wake(this.ksoftirqd);
  }

  /** ksoftirqd_running(): used by the "4.9" softirqPolicy to defer softirqs to ksoftirqd. */
  ksoftirqdRunning(): boolean {
    return this.ksoftirqd.state === RUNNING;
  }

  /** Mark the current task for rescheduling (resched_curr) and act on it if it can be preempted now. */
  reschedule(): void {
    this.needResched = true;
    const c = this.rq.curr;
    if (!this.running) return;
    if (c === null || (this.exec === EXEC_TASK && c.preemptible && c.bh === 0)) this.dispatch();
  }

  /** Switch a virtual CPU on or off (its vCPU thread got or lost a host CPU). */
  setRunning(on: boolean): void {
    if (on === this.running) return;
    this.settle();
    this.running = on;
    if (!on) {
      this.exec = EXEC_PAUSED;
      this.endGen++;
      return;
    }
    this.exec = EXEC_IDLE;
    if (this.tickPending) {
      this.tickPending = false;
      this.tick();
    }
    this.dispatch();
  }

  /** Whether this (virtual) CPU has anything to do: used by the vCPU thread to decide to halt. */
  hasWork(): boolean {
    return (
      this.pendingIrqs.length > 0 ||
      this.inHard ||
      this.softRun !== null ||
      this.rq.curr !== null ||
      this.rq.nrQueued > 0
    );
  }

  /**
   * The local timer interrupt (tick_sched_timer): a hardirq whose handler runs scheduler_tick, and
   * whose irq_exit runs pending softirqs like any other interrupt. Skipped on an idle CPU (NO_HZ).
   */
  tick(): void {
    if (!this.running) {
      // a descheduled vCPU takes the tick when it next runs, unless the guest is idle (NO_HZ)
      if (this.hasWork()) this.tickPending = true;
      return;
    }
    if (this.exec === EXEC_IDLE && this.isIdle()) return;
    this.raiseIrq(this.timerIrq);
  }

  private readonly timerIrq: IrqAction = {
    name: "timer",
    costNs: 0,
    handler: () => {
      // scheduler_tick(): account the current task, check its slice, trigger load balancing
      if (this.rq.tick()) this.needResched = true;
      if (this.k.balanceTick(this)) this.needResched = true;
    },
  };

  /** End the unbounded guest-run chunk of the current vCPU task (the guest halted). */
  endGuestRun(task: Task): void {
    if (this.rq.curr !== task) return;
    this.settle();
    task.remaining = 0;
    this.dispatch();
  }

  /** Account the time since the last transition to whatever was executing. */
  private settle(): void {
    const now = this.k.q.now;
    const dt = now - this.execStart;
    this.execStart = now;
    if (dt <= 0) return;
    // account_process_tick() -> account_system_time(): a tick is charged whole to the context it is
    // taken in; never inside a hardirq (irqs off: it is taken at irq_exit, in the softirq that runs
    // there), nor on an idle CPU (NO_HZ); with an IPI on its way it is taken after that IPI
    if (
      this.exec === EXEC_SOFT ||
      this.exec === EXEC_HARD ||
      (this.exec === EXEC_TASK &&
        this.rq.curr !== null &&
        (this.rq.curr.softirqCtx > 0 || this.ipisOnTheWay > 0))
    )
      this.tickSoftirqNs += dt;
    switch (this.exec) {
      case EXEC_HARD:
        this.hardRemaining -= dt;
        this.hardirqNs += dt;
        if (!this.irqTimeAccounting && this.rq.curr) {
          this.rq.curr.execPending += dt;
          this.rq.curr.irqNs += dt;
        }
        break;
      case EXEC_SOFT:
        this.softRemaining -= dt;
        this.softirqNs += dt;
        // without CONFIG_IRQ_TIME_ACCOUNTING the scheduler charges interrupt time to the interrupted task
        if (!this.irqTimeAccounting && this.rq.curr) {
          this.rq.curr.execPending += dt;
          this.rq.curr.irqNs += dt;
        }
        break;
      case EXEC_TASK: {
        const c = this.rq.curr;
        if (c && c.softirqCtx > 0) {
          // softirqs run from local_bh_enable in a task: irqtime_account_irq() counts them as softirq
          // time (ksoftirqd's own time stays task time); without CONFIG_IRQ_TIME_ACCOUNTING the
          // scheduler still charges them to the task, as for softirqs at irq exit
          c.remaining -= dt;
          this.softirqNs += dt;
          if (!this.irqTimeAccounting) {
            c.execPending += dt;
            c.irqNs += dt;
          }
        } else if (c) {
          c.remaining -= dt;
          c.sumExecNs += dt;
          c.execPending += dt;
          this.taskNs[c.kindIndex] = (this.taskNs[c.kindIndex] as number) + dt;
        }
        break;
      }
      case EXEC_IDLE:
        this.idleNs += dt;
        break;
      default:
        this.pausedNs += dt;
    }
  }

  private start(exec: number, remaining: number): void {
    this.exec = exec;
    const task = exec === EXEC_TASK ? this.rq.curr : null;
    // a vCPU task in guest mode runs its guest CPU exactly while it executes here
    const guest = task?.guest && task.inGuest ? task.guest : null;
    if (guest !== this.guestOn) {
      const old = this.guestOn;
      this.guestOn = guest;
      old?.setRunning(false);
      guest?.setRunning(true);
      if (this.again) return; // the guest changed our state (e.g. halted): re-evaluate
    }
    let until = remaining;
    if (task && task.classRank === 3) until = Math.min(until, Math.max(0, task.dlRuntime));
    if (until === Number.POSITIVE_INFINITY) return;
    this.k.q.call(this.k.q.now + until, this, ++this.endGen);
  }

  /** Event target: the chunk that was running ended (unless superseded since). */
  fire(gen: number): void {
    if (gen === this.endGen) this.dispatch();
  }

  /** Re-evaluate what runs on this CPU now (after a chunk ends or state changed). Re-entrant safe. */
  dispatch(): void {
    if (this.inDispatch) {
      this.again = true;
      return;
    }
    this.inDispatch = true;
    try {
      do {
        this.again = false;
        this.step();
      } while (this.again);
    } finally {
      this.inDispatch = false;
    }
  }

  private step(): void {
    this.settle();
    this.endGen++;
    if (!this.running) {
      this.exec = EXEC_PAUSED;
      return;
    }
    for (let guard = 0; ; guard++) {
      if (guard > 1_000_000) throw new Error(`cpu ${this.id}: dispatch loop does not settle`);
      if (this.pendingIrqs.length > 0 && !this.inHard) {
        this.inHard = true;
        this.hardAction = null;
        this.hardRemaining = 0;
      }
      if (this.inHard) {
        if (this.hardRemaining > 0) {
          this.start(EXEC_HARD, this.hardRemaining);
          return;
        }
        // one step of the hardirq body: handle the pending interrupts one by one, with interrupts
        // disabled (a hardirq is not nested): charge an action's cost, then run its handler
        const a = this.hardAction;
        if (a !== null) {
          this.hardAction = null;
          a.handler(this);
        }
        if (this.pendingIrqs.length > 0) {
          const next = this.pendingIrqs.shift() as IrqAction;
          this.hardAction = next;
          this.hardRemaining = Math.round(next.costNs);
        } else {
          this.inHard = false;
          this.irqExit();
        }
        continue;
      }
      if (this.softRun !== null) {
        if (this.softRemaining > 0) {
          this.start(EXEC_SOFT, this.softRemaining);
          return;
        }
        const v = this.softRun.step();
        if (v < 0) this.softRun = null;
        else this.softRemaining = Math.round(v);
        continue;
      }
      const c = this.rq.curr;
      if (c === null) {
        if (this.rq.nrQueued > 0 || this.k.newidleBalance(this)) {
          this.schedule();
          continue;
        }
        this.needResched = false;
        this.start(EXEC_IDLE, Number.POSITIVE_INFINITY);
        if (this.onIdle && !this.hasWork()) this.onIdle();
        return;
      }
      if (c.classRank === 3) {
        this.rq.updateCurr();
        if (c.dlRuntime <= 0 && !c.dlThrottled) {
          this.k.throttleDl(c); // CBS: the reservation is used up until the next period
          this.schedule();
          continue;
        }
      }
      if (this.needResched && c.preemptible && c.bh === 0 && c.remaining > 0) {
        this.schedule(); // preemption at return from interrupt / wakeup preemption
        continue;
      }
      if (c.remaining > 0) {
        this.start(EXEC_TASK, c.remaining);
        return;
      }
      if (c.inGuest) {
        c.inGuest = false; // the guest halted: back in the host vCPU thread
      }
      const v = (c.body ?? c.startBody()).step();
      if (v >= 0) {
        c.remaining = Math.round(v);
      } else if (v === SLEEP) {
        // dequeue_entity(DEQUEUE_SLEEP): update_entity_lag() while the task still counts in V, then off the rq
        this.rq.dequeueCurrSleep();
        c.state = SLEEPING;
        this.schedule();
      } else if (v === RESCHED) {
        if (this.needResched) this.schedule();
      } else if (v === PREEMPT) {
        // CONFIG_PREEMPT: a kernel thread is preempted as soon as BHs and preemption are enabled again
        if (this.needResched && this.fullPreempt && c.bh === 0) this.schedule();
      } else if (v === RUN_GUEST) {
        c.inGuest = true;
        c.remaining = Number.POSITIVE_INFINITY;
      }
    }
  }

  /** irq_exit() -> invoke_softirq(): run pending softirqs now unless in interrupt or the policy defers. */
  private irqExit(): void {
    if (this.softirqPending === 0 || this.inInterrupt()) return;
    if (this.k.forceIrqThreads) {
      this.wakeupSoftirqd(); // invoke_softirq() with force_irqthreads(): softirqs raised in a hardirq go to ksoftirqd
      return;
    }
    if (this.k.policy === "4.9" && this.ksoftirqdRunning()) return; // "let ksoftirqd do its job"
    const run = this.softirqRun();
    run.begin();
    this.softRun = run;
    this.softRemaining = 0;
  }

  /**
   * A __do_softirq state machine for this CPU: the cached one unless it is in use. Softirqs do not
   * nest on a CPU (in_interrupt() holds during every run), so the cache is almost always free.
   */
  softirqRun(): SoftirqRun {
    return this.softCache.active ? new SoftirqRun(this.k, this) : this.softCache;
  }

  /** __schedule(): put the current task back (or let it sleep), pick the next, switch. */
  schedule(): void {
    const now = this.k.q.now;
    const prev = this.rq.curr;
    this.needResched = false;
    if (prev) {
      if (prev.state === RUNNING) this.rq.putPrev(prev, now);
      prev.onCpu = false;
      this.rq.setCurr(null);
    }
    let next = this.rq.pickNext();
    if (next === null && this.k.newidleBalance(this)) next = this.rq.pickNext();
    if (next) {
      next.onCpu = true;
      next.cpu = this.id;
      this.rq.setCurr(next);
      next.waitNs += now - next.enqueuedAt;
      if (next !== prev) {
        next.slices++;
        next.remaining += this.k.f.contextSwitchNs;
      }
    }
  }

  resetStats(): void {
    this.settle();
    this.hardirqNs = 0;
    this.softirqNs = 0;
    this.tickSoftirqNs = 0;
    this.idleNs = 0;
    this.pausedNs = 0;
    this.taskNs.fill(0);
    this.softnet = { processed: 0, dropped: 0, timeSqueeze: 0, squeezeBudget: 0, squeezeTime: 0 };
  }

  /** Task time on this CPU spent by tasks of one kind. */
  timeOfKind(kind: TaskKind): number {
    return this.taskNs[TASK_KINDS.indexOf(kind)] as number;
  }

  /** Bring the time accounting up to now (before reading the counters). */
  flush(): void {
    this.settle();
  }
}

export { NET_RX_SOFTIRQ };
