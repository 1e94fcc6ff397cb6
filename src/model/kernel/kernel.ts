/**
 * One kernel instance: its CPUs (physical, or virtual ones backed by host vCPU threads), tasks,
 * scheduler glue (wake-up, CPU selection, load balancing, deadline timers), ksoftirqd per CPU and
 * the softirq policy. A host and a guest are two Kernel objects sharing one event queue.
 */
import type { SchedPolicy } from "../../core/vocabulary.js";
import type { Figures, SoftirqPolicy } from "../profile.js";
import { Cpu } from "./cpu.js";
import type { EventQueue } from "./events.js";
import { type FairClass, RqLoad } from "./sched.js";
import { ksoftirqdBody } from "./softirq.js";
import { type Body, RUNNING, SLEEPING, Task, type TaskKind } from "./task.js";

export interface KernelOptions {
  name: string;
  cpus: number;
  figures: Figures;
  policy: SoftirqPolicy;
  fairClass?: FairClass;
  /** Virtual CPUs start stopped and run only when a host vCPU thread enters them. */
  virtual?: boolean;
}

export class Kernel {
  readonly name: string;
  readonly q: EventQueue;
  readonly f: Figures;
  readonly policy: SoftirqPolicy;
  readonly fairClass: FairClass;
  readonly tickNs: number;
  /** get_update_sysctl_factor() with SCHED_TUNABLESCALING_LOG: 1 + ilog2(min(ncpus, 8)). */
  readonly sysctlFactor: number;
  readonly cpus: Cpu[];
  readonly tasks: Task[] = [];
  /** force_irqthreads() (the threadirqs boot option): irq_exit wakes ksoftirqd instead of running softirqs (threadirqs.ts). */
  forceIrqThreads = false;
  /** Tasks queued on this kernel's run queues, all CPUs together and per CPU (kept by the run queues). */
  readonly load: RqLoad;
  private nextTaskId = 1;
  private ticks = 0;

  constructor(q: EventQueue, o: KernelOptions) {
    this.q = q;
    this.name = o.name;
    // a copy with fast properties: a profile's figures are built by keyed stores, which leaves V8
    // with a dictionary-mode object, and the hot paths read these figures on every chunk
    this.f = { ...o.figures };
    this.policy = o.policy;
    this.fairClass = o.fairClass ?? "eevdf";
    this.tickNs = Math.round(1e9 / o.figures.hz);
    this.sysctlFactor = 1 + Math.floor(Math.log2(Math.min(Math.max(1, o.cpus), 8)));
    this.load = new RqLoad(o.cpus);
    this.cpus = [];
    for (let i = 0; i < o.cpus; i++) this.cpus.push(new Cpu(this, i, !o.virtual));
    for (const cpu of this.cpus) {
      // ksoftirqd/N: a per-CPU fair kthread at nice 0, bound to its CPU (smpboot thread)
      const t = this.createTask(`ksoftirqd/${cpu.id}`, "ksoftirqd", { policy: "other", nice: 0 }, [cpu.id], {
        body: (task) => ksoftirqdBody(this, cpu, task),
        preemptible: false,
      });
      cpu.ksoftirqd = t;
    }
  }

  /** Start the per-CPU scheduler ticks (HZ); call once before running. */
  start(): void {
    const tick = () => {
      this.ticks++;
      for (const cpu of this.cpus) cpu.tick();
      this.q.after(this.tickNs, tick);
    };
    this.q.after(this.tickNs, tick);
  }

  /** Create a task (sleeping). Wake it with wake(); `preemptible` is true for user tasks. */
  createTask(
    name: string,
    kind: TaskKind,
    policy: SchedPolicy,
    cpus: number[] | null,
    o: { body: (t: Task) => Body; preemptible: boolean },
  ): Task {
    const t = new Task(this.nextTaskId++, name, kind, policy, cpus, o.body, o.preemptible);
    t.cpu = cpus?.[0] ?? 0;
    if (policy.policy === "deadline") t.dlThrottled = false;
    this.tasks.push(t);
    return t;
  }

  /** try_to_wake_up(): make a sleeping task runnable on a CPU chosen by select_task_rq. */
  wake(t: Task): boolean {
    if (t.state === RUNNING) return false;
    t.state = RUNNING;
    t.wakeups++;
    if (t.classRank === 3) {
      this.updateDlEntity(t);
      if (t.dlThrottled) return true; // the replenishment timer will enqueue it
    }
    const cpu = this.cpus[this.selectCpu(t)] as Cpu;
    cpu.rq.enqueue(t, this.q.now, true);
    if (cpu.rq.shouldPreempt(t)) cpu.reschedule();
    return true;
  }

  /** Change a task's scheduling policy (sched_setattr), requeueing it if it is waiting. */
  setPolicy(t: Task, p: SchedPolicy): void {
    const cpu = this.cpus[t.cpu] as Cpu;
    const wasQueued = t.queued;
    if (wasQueued) cpu.rq.dequeueQueued(t);
    if (t.onCpu) {
      cpu.flush();
      cpu.rq.updateCurr();
    }
    t.setPolicy(p);
    if (p.policy === "deadline") {
      t.dlRuntime = p.runtimeNs;
      t.dlDeadline = this.q.now + p.deadlineNs;
    }
    if (wasQueued) cpu.rq.enqueue(t, this.q.now, false);
    if (t.onCpu || wasQueued) cpu.reschedule();
  }

  /** Change a task's affinity (sched_setaffinity); a task on a now-forbidden CPU moves at its next switch. */
  setAffinity(t: Task, cpus: number[] | null): void {
    t.cpus = cpus;
    if (t.queued && !t.allowedOn(t.cpu)) {
      (this.cpus[t.cpu] as Cpu).rq.dequeueQueued(t);
      const to = this.cpus[this.selectCpu(t)] as Cpu;
      to.rq.enqueue(t, this.q.now, false);
      if (to.rq.shouldPreempt(t)) to.reschedule();
    } else if (t.onCpu && !t.allowedOn(t.cpu)) (this.cpus[t.cpu] as Cpu).reschedule();
  }

  /**
   * select_task_rq(), reduced: the previous CPU if allowed and idle, else an idle allowed CPU,
   * else the previous CPU if allowed, else the first allowed one.
   */
  selectCpu(t: Task): number {
    const n = this.cpus.length;
    const prev = t.cpu < n ? t.cpu : 0;
    // idle_cpu(): nothing current and nothing queued, read from the run queues' shared arrays
    const queued = this.load.perCpu;
    const busy = this.load.busy;
    if (t.allowedOn(prev) && busy[prev] === 0 && queued[prev] === 0) return prev;
    // no CPU idle: the scan below would find none
    for (let i = 1; i < n && this.load.idle > 0; i++) {
      let c = prev + i;
      if (c >= n) c -= n;
      if (busy[c] === 0 && queued[c] === 0 && t.allowedOn(c)) return c;
    }
    if (t.allowedOn(prev)) return prev;
    for (let c = 0; c < n; c++) if (t.allowedOn(c)) return c;
    return prev;
  }

  /** sched_balance_newidle(): an idle CPU pulls a waiting task it may run from the busiest CPU. */
  newidleBalance(cpu: Cpu): boolean {
    // nothing queued on any other CPU: nothing to pull (the scan below would find no busiest)
    const queued = this.load.perCpu;
    if (this.load.queued - (queued[cpu.id] as number) === 0) return false;
    // the first CPU (in order) with the most queued tasks, over the shared per-CPU counts
    let busiest: Cpu | null = null;
    let most = 0;
    const n = this.cpus.length;
    for (let i = 0; i < n; i++) {
      const nq = queued[i] as number;
      if (nq <= most || i === cpu.id) continue;
      const other = this.cpus[i] as Cpu;
      if (!other.running) continue;
      busiest = other;
      most = nq;
    }
    if (!busiest) return false;
    const t = busiest.rq.firstMovable(cpu.id, false);
    if (t === null) return false;
    this.migrate(t, busiest, cpu);
    return true;
  }

  /** Periodic load balance (sched_balance_domains) every 4 ticks: even out runnable counts. */
  balanceTick(cpu: Cpu): boolean {
    if (this.cpus.length < 2 || this.ticks % 4 !== cpu.id % 4) return false;
    let busiest: Cpu | null = null;
    for (const other of this.cpus) {
      if (other === cpu || !other.running) continue;
      if (busiest === null || other.rq.nrRunning > busiest.rq.nrRunning) busiest = other;
    }
    if (!busiest || busiest.rq.nrRunning < cpu.rq.nrRunning + 2) return false;
    const t = busiest.rq.firstMovable(cpu.id, true);
    if (t === null) return false;
    this.migrate(t, busiest, cpu);
    return cpu.rq.shouldPreempt(t);
  }

  private migrate(t: Task, from: Cpu, to: Cpu): void {
    // keep the task's lag relative to the queues (vruntime is renormalised at enqueue)
    const lag = from.rq.vbase() - t.vruntime;
    from.rq.dequeueQueued(t);
    t.vruntime = to.rq.vbase() - lag;
    to.rq.enqueue(t, this.q.now, false);
  }

  // ---- SCHED_DEADLINE (kernel/sched/deadline.c) ----

  /** update_dl_entity(): a waking task whose deadline passed or would overrun gets a fresh period. */
  private updateDlEntity(t: Task): void {
    const p = t.policy;
    if (p.policy !== "deadline" || t.dlThrottled) return;
    const now = this.q.now;
    const overflow = t.dlRuntime * p.deadlineNs > (t.dlDeadline - now) * p.runtimeNs; // dl_entity_overflow
    if (t.dlDeadline <= now || overflow) {
      t.dlDeadline = now + p.deadlineNs;
      t.dlRuntime = p.runtimeNs;
    }
  }

  /** The reservation is exhausted: throttle until the next period (start_dl_timer). */
  throttleDl(t: Task): void {
    const p = t.policy;
    if (p.policy !== "deadline") return;
    t.dlThrottled = true;
    const g = ++t.dlTimerGen;
    const at = t.dlDeadline - p.deadlineNs + p.periodNs; // dl_next_period()
    this.q.at(Math.max(at, this.q.now), () => {
      if (g !== t.dlTimerGen) return;
      this.replenishDl(t);
    });
  }

  /** dl_task_timer() -> replenish_dl_entity(): refill the runtime, push the deadline, re-enqueue. */
  private replenishDl(t: Task): void {
    const p = t.policy;
    if (p.policy !== "deadline") return;
    while (t.dlRuntime <= 0) {
      t.dlDeadline += p.periodNs;
      t.dlRuntime += p.runtimeNs;
    }
    if (t.dlDeadline < this.q.now) {
      t.dlDeadline = this.q.now + p.deadlineNs;
      t.dlRuntime = p.runtimeNs;
    }
    t.dlThrottled = false;
    if (t.state !== RUNNING || t.onCpu || t.queued) return;
    const cpu = this.cpus[this.selectCpu(t)] as Cpu;
    cpu.rq.enqueue(t, this.q.now, false);
    if (cpu.rq.shouldPreempt(t)) cpu.reschedule();
  }

  /** Zero every statistic (end of warm-up). */
  resetStats(): void {
    for (const cpu of this.cpus) cpu.resetStats();
    for (const t of this.tasks) {
      if (t.onCpu) (this.cpus[t.cpu] as Cpu).flush();
      t.resetStats();
    }
  }

  isSleeping(t: Task): boolean {
    return t.state === SLEEPING;
  }
}
