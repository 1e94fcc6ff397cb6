/**
 * A schedulable task (a struct task_struct, reduced to what the rx path needs): its scheduling
 * class and parameters, its affinity, its per-class bookkeeping and its behaviour, a generator that
 * yields chunks of CPU work in nanoseconds or one of the special steps below.
 */
import type { SchedPolicy } from "../../core/vocabulary.js";

/** Block until woken (set_current_state(TASK_INTERRUPTIBLE); schedule()). */
export const SLEEP = -1;
/** A voluntary scheduling point (cond_resched()). */
export const RESCHED = -2;
/** A preemption point only under CONFIG_PREEMPT (e.g. preempt_enable at the end of local_bh_enable). */
export const PREEMPT = -4;
/** vCPU thread only: enter the guest and run it until it halts (an unbounded chunk). */
export const RUN_GUEST = -3;

/**
 * A task body as a resumable state machine: step() does the work up to the next step and returns
 * it (a chunk in ns, or SLEEP, RESCHED, PREEMPT, RUN_GUEST), like the generator form's yields.
 */
export interface StepBody {
  step(): number;
}
export type Body = Generator<number, void, void> | StepBody;

/** A generator body stepped like a state machine. */
class GeneratorBody implements StepBody {
  constructor(private readonly g: Generator<number, void, void>) {}
  step(): number {
    const r = this.g.next();
    return r.done ? SLEEP : r.value;
  }
}
export const TASK_KINDS = [
  "ksoftirqd",
  "napi",
  "receiver",
  "hog",
  "vhost",
  "vcpu",
  "other",
  "irqthread",
  "sender",
] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** TASK_RUNNING: on a CPU or queued on a run queue. */
export const RUNNING = 0;
/** TASK_INTERRUPTIBLE: blocked until woken. */
export const SLEEPING = 1;

/** sched_prio_to_weight: nice -20..19 to load weight (nice 0 = 1024). */
export const PRIO_TO_WEIGHT = [
  88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121,
  2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23,
  18, 15,
];

export class Task {
  readonly id: number;
  readonly name: string;
  readonly kind: TaskKind;
  /** Index of `kind` in TASK_KINDS (for per-CPU accounting arrays). */
  readonly kindIndex: number;
  policy: SchedPolicy;
  /** CPUs the task may run on (cpus_mask), or null for all. */
  cpus: number[] | null;
  /**
   * User tasks are preemptible anywhere; kernel threads only at RESCHED/SLEEP (voluntary preemption).
   * Not readonly: a user task in napi_busy_loop runs with preempt_disable() (busypoll.ts).
   */
  preemptible: boolean;

  state = SLEEPING;
  /** The CPU it runs on or last ran on (task_cpu). */
  cpu = 0;
  /** True while it is the current task of its CPU. */
  onCpu = false;
  /** True while queued on a run queue (not counting the current task). */
  queued = false;
  /** local_bh_disable depth: while > 0 softirqs do not run at irq exit on its CPU. */
  bh = 0;
  /** Depth of softirq processing run from this task's local_bh_enable (in_serving_softirq()). */
  softirqCtx = 0;

  /** The body as a state machine, made on first run (a generator body is wrapped in one). */
  body: StepBody | null = null;
  makeBody: (t: Task) => Body;
  /** ns left of the chunk in progress (0 = ask the body for the next step). */
  remaining = 0;

  // fair class (EEVDF): sched_entity fields
  weight = 1024;
  vruntime = 0;
  deadline = 0;
  vlag = 0;
  // the fair queue's tree node (fairtree.ts): queueing sequence (-1: not queued), treap priority,
  // children and the subtree's earliest-deadline and first-queued tasks
  fairSeq = -1;
  fairPrio = 0;
  fairLeft: Task | null = null;
  fairRight: Task | null = null;
  fairMinDeadline: Task | null = null;
  fairFirst: Task | null = null;
  /** RUN_TO_PARITY: the slice handed out at pick time is still protected. */
  protect = false;
  initial = true;
  // rt class
  rtLeft = 0;
  // deadline class (sched_dl_entity)
  dlRuntime = 0;
  dlDeadline = 0;
  dlThrottled = false;
  dlTimerGen = 0;

  /** vCPU thread: the guest CPU it runs, and whether it is in guest mode right now. */
  guest: import("./cpu.js").Cpu | null = null;
  inGuest = false;

  /** ns of CPU consumed since the class last accounted it (update_curr's delta_exec). */
  execPending = 0;

  /** sum_exec_runtime when last picked (prev_sum_exec_runtime, for CFS slices). */
  execAtPick = 0;

  // statistics (schedstat-like)
  sumExecNs = 0;
  /**
   * Interrupt and softirq time that ran while this task was current and, without
   * CONFIG_IRQ_TIME_ACCOUNTING, was charged to it: its schedstat run time is sumExecNs + irqNs.
   */
  irqNs = 0;
  waitNs = 0;
  slices = 0;
  wakeups = 0;
  enqueuedAt = 0;

  constructor(
    id: number,
    name: string,
    kind: TaskKind,
    policy: SchedPolicy,
    cpus: number[] | null,
    makeBody: (t: Task) => Body,
    preemptible: boolean,
  ) {
    this.id = id;
    this.name = name;
    this.kind = kind;
    this.kindIndex = TASK_KINDS.indexOf(kind);
    this.policy = policy;
    this.cpus = cpus;
    this.makeBody = makeBody;
    this.preemptible = preemptible;
    this.setPolicy(policy);
  }

  setPolicy(p: SchedPolicy): void {
    this.policy = p;
    this.classRank = p.policy === "deadline" ? 3 : p.policy === "fifo" || p.policy === "rr" ? 2 : 1;
    if (p.policy === "other") this.weight = PRIO_TO_WEIGHT[p.nice + 20] as number;
  }

  /** Scheduling class rank: deadline 3 > rt 2 > fair 1. */
  classRank = 1;

  get rtPriority(): number {
    return this.policy.policy === "fifo" || this.policy.policy === "rr" ? this.policy.priority : 0;
  }

  /** Create the body (a generator's return counts as SLEEP). */
  startBody(): StepBody {
    const b = this.makeBody(this);
    const body = "step" in b ? b : new GeneratorBody(b);
    this.body = body;
    return body;
  }

  allowedOn(cpu: number): boolean {
    return this.cpus === null || this.cpus.includes(cpu);
  }

  resetStats(): void {
    this.sumExecNs = 0;
    this.irqNs = 0;
    this.waitNs = 0;
    this.slices = 0;
    this.wakeups = 0;
  }
}
