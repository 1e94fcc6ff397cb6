/**
 * One CPU's run queue with three scheduling classes, picked in the kernel's order: SCHED_DEADLINE
 * (EDF with CBS throttling), SCHED_FIFO/RR (fixed priorities), and the fair class (EEVDF: virtual
 * runtime, lag and eligibility, virtual deadlines). The current task is kept outside the queues,
 * as the kernel keeps it outside the rbtree.
 */
import { FairTree } from "./fairtree.js";
import { RUNNING, type Task } from "./task.js";

export interface SchedParams {
  /** "eevdf" (Linux 6.6+) or "cfs" (the fair class before 6.6, as in the 2016 kernel of the seed). */
  fairClass: FairClass;
  /** sysctl_sched_base_slice, scaled by the caller (update_sysctl). */
  baseSliceNs: number;
  rrTimesliceNs: number;
  tickNs: number;
  runToParity: boolean;
  /** CFS: sysctl_sched_latency, sched_min_granularity, sched_wakeup_granularity (scaled by the caller). */
  cfsLatencyNs: number;
  cfsMinGranularityNs: number;
  cfsWakeupGranularityNs: number;
}

export type FairClass = "eevdf" | "cfs";

const NICE_0_LOAD = 1024;

/**
 * What a kernel's run queues share, so that load balancing and select_task_rq can look at every
 * CPU without visiting its objects: tasks queued over all CPUs, and per CPU the tasks queued and
 * whether a task is current (typed arrays: a scan of 32 CPUs is then a few dozen loads).
 */
export class RqLoad {
  queued = 0;
  readonly perCpu: Int32Array;
  readonly busy: Uint8Array;
  /** CPUs with nothing current and nothing queued (idle_cpu()): when none, a wake-up need not look. */
  idle: number;
  constructor(cpus: number) {
    this.perCpu = new Int32Array(Math.max(1, cpus));
    this.busy = new Uint8Array(Math.max(1, cpus));
    this.idle = Math.max(1, cpus);
  }
}

export class RunQueue {
  readonly cpu: number;
  private readonly p: SchedParams;
  /** The running task, or null when idle. */
  curr: Task | null = null;
  /** Queued fair tasks, ordered by vruntime (the rbtree of cfs_rq). */
  private fair = new FairTree();
  private rt: Task[] = [];
  private dl: Task[] = [];
  // avg_vruntime bookkeeping over queued fair entities (curr added on the fly)
  private sumW = 0;
  private sumWV = 0;
  private seq = 0;
  private minVruntime = 0;
  private rtSeq = new Map<Task, number>();

  /** Queued tasks over all run queues of the kernel (shared), so an idle balance can skip the scan. */
  readonly load: RqLoad;
  /** Tasks queued here (not the current one), kept as a count: read on every balance and wake-up. */
  private nQ = 0;

  constructor(cpu: number, p: SchedParams, load: RqLoad = new RqLoad(cpu + 1)) {
    this.cpu = cpu;
    this.p = p;
    this.load = load;
  }

  private queuedUp(): void {
    const load = this.load;
    load.queued++;
    if (this.nQ === 0 && this.curr === null) load.idle--;
    load.perCpu[this.cpu] = ++this.nQ;
  }

  private queuedDown(): void {
    const load = this.load;
    load.queued--;
    load.perCpu[this.cpu] = --this.nQ;
    if (this.nQ === 0 && this.curr === null) load.idle++;
  }

  /** Set the running task (rq->curr), or null when the CPU goes idle. */
  setCurr(t: Task | null): void {
    const load = this.load;
    if (this.nQ === 0 && (this.curr === null) !== (t === null)) load.idle += t === null ? 1 : -1;
    this.curr = t;
    load.busy[this.cpu] = t === null ? 0 : 1;
  }

  /** The scheduler tunables this run queue uses (after update_sysctl scaling). */
  tunables(): Readonly<SchedParams> {
    return this.p;
  }

  /** Tasks queued plus the running one (rq->nr_running). */
  get nrRunning(): number {
    return this.nQ + (this.curr ? 1 : 0);
  }

  get nrQueued(): number {
    return this.nQ;
  }

  /** Queued tasks (not running), for load balancing. */
  queuedTasks(): Task[] {
    return [...this.dl, ...this.rt, ...this.fair.inQueueOrder()];
  }

  /** The first queued task, in queuedTasks() order, that may run on `cpu` (and is fair, if asked). */
  firstMovable(cpu: number, fairOnly: boolean): Task | null {
    if (!fairOnly) {
      for (const t of this.dl) if (t.allowedOn(cpu)) return t;
      for (const t of this.rt) if (t.allowedOn(cpu)) return t;
    }
    return this.fair.firstAllowedOn(cpu);
  }

  // ---- fair class (kernel/sched/fair.c) ----

  private vslice(t: Task): number {
    // calc_delta_fair(se->slice, se): the request in virtual time
    return (this.p.baseSliceNs * NICE_0_LOAD) / t.weight;
  }

  /** The queue's reference virtual time: V for EEVDF, min_vruntime for CFS (used when migrating). */
  vbase(): number {
    return this.p.fairClass === "cfs" ? this.updateMinVruntime() : this.avgVruntime();
  }

  /** CFS update_min_vruntime(): monotonic, follows the smaller of curr and the leftmost task. */
  private updateMinVruntime(): number {
    const c = this.curr && this.curr.classRank === 1 && this.curr.state === RUNNING ? this.curr : null;
    let v = c ? c.vruntime : Number.POSITIVE_INFINITY;
    const left = this.leftmost();
    if (left !== null && left.vruntime < v) v = left.vruntime;
    if (v !== Number.POSITIVE_INFINITY && v > this.minVruntime) this.minVruntime = v;
    return this.minVruntime;
  }

  /** The leftmost queued fair task (__pick_first_entity; the earliest queued among equals), or null. */
  private leftmost(): Task | null {
    return this.fair.leftmost();
  }

  /** avg_vruntime(): the load-weighted mean vruntime V of the queue, current task included. */
  avgVruntime(): number {
    let w = this.sumW;
    let wv = this.sumWV;
    const c = this.curr;
    if (c && c.classRank === 1 && c.state === RUNNING) {
      w += c.weight;
      wv += c.weight * c.vruntime;
    }
    if (w === 0) return c ? c.vruntime : 0;
    return wv / w;
  }

  private fairLoad(): number {
    const c = this.curr;
    return this.sumW + (c && c.classRank === 1 && c.state === RUNNING ? c.weight : 0);
  }

  /** update_curr(): charge the current task's pending execution time to its class. */
  updateCurr(): boolean {
    const c = this.curr;
    if (!c) return false;
    const delta = c.execPending;
    c.execPending = 0;
    if (c.classRank === 1) {
      c.vruntime += (delta * NICE_0_LOAD) / c.weight;
      if (this.p.fairClass === "cfs") {
        this.updateMinVruntime();
        return false;
      }
      // update_deadline(): a finished request gets a new deadline and invites a reschedule
      if (c.vruntime >= c.deadline) {
        c.deadline = c.vruntime + this.vslice(c);
        c.protect = false;
        return this.nrRunning > 1;
      }
      return false;
    }
    if (c.classRank === 3) c.dlRuntime -= delta;
    if (c.classRank === 2 && c.policy.policy === "rr") c.rtLeft -= delta;
    return false;
  }

  /** place_entity(): put a waking fair task at V minus its preserved (scaled) lag. */
  private placeFair(t: Task): void {
    if (this.p.fairClass === "cfs") {
      // CFS place_entity(): sleeper credit of half a latency period (GENTLE_FAIR_SLEEPERS), never backwards;
      // a new task starts one slice behind (START_DEBIT)
      const min = this.updateMinVruntime();
      if (t.initial) {
        t.vruntime = min + this.cfsSlice(t, 1) * (NICE_0_LOAD / t.weight);
        t.initial = false;
      } else t.vruntime = Math.max(t.vruntime, min - this.p.cfsLatencyNs / 2);
      return;
    }
    const V = this.avgVruntime();
    let vslice = this.vslice(t);
    let lag = 0;
    const load = this.fairLoad();
    if (load > 0) lag = (t.vlag * (load + t.weight)) / load; // PLACE_LAG inflation
    t.vruntime = V - lag;
    if (t.initial) {
      vslice /= 2; // PLACE_DEADLINE_INITIAL
      t.initial = false;
    }
    t.deadline = t.vruntime + vslice;
  }

  /** Save the lag of a fair task leaving the queue (update_entity_lag), clamped like entity_lag(). */
  private saveLag(t: Task): void {
    if (this.p.fairClass === "cfs") return;
    const V = this.avgVruntime();
    const limit = (Math.max(2 * this.p.baseSliceNs, this.p.tickNs) * NICE_0_LOAD) / t.weight;
    t.vlag = Math.max(-limit, Math.min(limit, V - t.vruntime));
  }

  private addFair(t: Task): void {
    this.fair.insert(t);
    this.queuedUp();
    this.sumW += t.weight;
    this.sumWV += t.weight * t.vruntime;
  }

  private removeFair(t: Task): void {
    if (!this.fair.remove(t)) return;
    this.queuedDown();
    this.sumW -= t.weight;
    this.sumWV -= t.weight * t.vruntime;
    if (this.fair.size === 0) {
      this.sumW = 0;
      this.sumWV = 0;
    }
  }

  /** pick_eevdf(): the eligible entity (vruntime <= V) with the earliest virtual deadline. */
  private pickFair(): Task | null {
    if (this.p.fairClass === "eevdf") return this.pickEevdf();
    // CFS pick_next_entity(): the leftmost (smallest vruntime) task
    return this.leftmost();
  }

  /** CFS sched_slice(): the task's share of the latency period (stretched past sched_nr_latency tasks). */
  private cfsSlice(t: Task, extra: number): number {
    const nr = this.fair.size + (this.curr && this.curr.classRank === 1 ? 1 : 0) + extra;
    const nrLatency = Math.max(1, Math.floor(this.p.cfsLatencyNs / this.p.cfsMinGranularityNs));
    const period = nr > nrLatency ? nr * this.p.cfsMinGranularityNs : this.p.cfsLatencyNs;
    const load = this.fairLoad() + (extra ? t.weight : 0);
    return load > 0 ? (period * t.weight) / load : period;
  }

  private pickEevdf(): Task | null {
    let c = this.curr && this.curr.classRank === 1 && this.curr.state === RUNNING ? this.curr : null;
    const V = this.avgVruntime();
    if (c && c.vruntime > V + 1e-6) c = null; // a non-eligible current task loses its protection
    // RUN_TO_PARITY: once picked, run until not eligible or a new slice is handed out
    if (c && this.p.runToParity && c.protect) return c;
    // the eligible queued task (vruntime <= V) with the earliest deadline; the current task keeps
    // the CPU unless a queued one's deadline is strictly earlier
    const q = this.fair.earliestEligible(V + 1e-6);
    let best: Task | null = c;
    if (q !== null && (best === null || q.deadline < best.deadline)) best = q;
    if (best) return best;
    // numerically nobody eligible: fall back to the smallest vruntime
    best = this.leftmost();
    return best ?? c;
  }

  // ---- queue operations ----

  /** enqueue_task(): a task becomes runnable here (woken, migrated, or new). */
  enqueue(t: Task, now: number, wakeup: boolean): void {
    t.queued = true;
    t.enqueuedAt = now;
    t.cpu = this.cpu;
    if (t.classRank === 1) {
      if (wakeup) this.placeFair(t);
      this.addFair(t);
    } else if (t.classRank === 2) {
      this.rt.push(t);
      this.queuedUp();
      this.rtSeq.set(t, this.seq++);
    } else {
      this.dl.push(t);
      this.queuedUp();
    }
  }

  /** dequeue_task() of a queued (not running) task, e.g. for migration. */
  dequeueQueued(t: Task): void {
    if (!t.queued) return;
    t.queued = false;
    if (t.classRank === 1) this.removeFair(t);
    else if (t.classRank === 2) {
      if (removeAt(this.rt, t)) this.queuedDown();
    } else if (removeAt(this.dl, t)) this.queuedDown();
  }

  /** The current task blocks: account it and save its lag (dequeue_entity with DEQUEUE_SLEEP). */
  dequeueCurrSleep(): void {
    const c = this.curr;
    if (!c) return;
    this.updateCurr();
    if (c.classRank === 1) this.saveLag(c);
  }

  /** put_prev_task(): the current task is switched out but stays runnable. */
  putPrev(t: Task, now: number): void {
    this.updateCurr();
    t.queued = true;
    t.enqueuedAt = now;
    if (t.classRank === 1) this.addFair(t);
    else if (t.classRank === 2) {
      this.rt.push(t);
      this.queuedUp();
      if (t.policy.policy === "rr" && t.rtLeft <= 0) this.rtSeq.set(t, this.seq++);
      else if (!this.rtSeq.has(t)) this.rtSeq.set(t, this.seq++);
    } else if (!t.dlThrottled) {
      this.dl.push(t);
      this.queuedUp();
    } else t.queued = false;
  }

  /** pick_next_task(): highest class first; removes the pick from the queue. */
  pickNext(): Task | null {
    let best: Task | null = null;
    for (const t of this.dl) if (best === null || t.dlDeadline < best.dlDeadline) best = t;
    if (!best) {
      for (const t of this.rt) {
        if (
          best === null ||
          t.rtPriority > best.rtPriority ||
          (t.rtPriority === best.rtPriority && (this.rtSeq.get(t) ?? 0) < (this.rtSeq.get(best) ?? 0))
        )
          best = t;
      }
    }
    if (!best) best = this.pickFair();
    if (best) {
      this.dequeueQueued(best);
      best.execAtPick = best.sumExecNs;
      if (best.classRank === 1) best.protect = true; // set_next_entity: RUN_TO_PARITY marker
      if (best.classRank === 2 && best.policy.policy === "rr" && best.rtLeft <= 0)
        best.rtLeft = this.p.rrTimesliceNs;
    }
    return best;
  }

  /** check_preempt_curr()/wakeup_preempt(): should woken task t preempt the running task? */
  shouldPreempt(t: Task): boolean {
    const c = this.curr;
    if (!c) return true;
    if (t.classRank !== c.classRank) return t.classRank > c.classRank;
    if (t.classRank === 3) return t.dlDeadline < c.dlDeadline;
    if (t.classRank === 2) return t.rtPriority > c.rtPriority;
    this.updateCurr();
    if (this.p.fairClass === "cfs") {
      // check_preempt_wakeup -> wakeup_preempt_entity(): ahead by more than the wakeup granularity
      const gran = (this.p.cfsWakeupGranularityNs * NICE_0_LOAD) / t.weight;
      return c.vruntime - t.vruntime > gran;
    }
    // check_preempt_wakeup_fair: preempt if EEVDF would now pick the wakee
    return this.pickEevdf() === t;
  }

  /** CFS check_preempt_tick(): the slice is used up, or the leftmost task is a slice behind. */
  private cfsCheckPreemptTick(c: Task): boolean {
    if (this.fair.size === 0) return false;
    const ideal = this.cfsSlice(c, 0);
    const ran = c.sumExecNs - c.execAtPick;
    if (ran > ideal) return true;
    if (ran < this.p.cfsMinGranularityNs) return false;
    const left = this.leftmost();
    return left !== null && c.vruntime - left.vruntime > ideal;
  }

  /** scheduler_tick() -> task_tick(): returns true when the current task should be rescheduled. */
  tick(): boolean {
    const c = this.curr;
    if (!c) return this.nrQueued > 0;
    const resched = this.updateCurr();
    if (c.classRank === 1) return this.p.fairClass === "cfs" ? this.cfsCheckPreemptTick(c) : resched;
    if (c.classRank === 2 && c.policy.policy === "rr" && c.rtLeft <= 0) {
      // task_tick_rt: a used-up RR slice goes to the tail if others share the priority
      c.rtLeft = this.p.rrTimesliceNs;
      if (this.rt.some((t) => t.rtPriority === c.rtPriority)) {
        this.rtSeq.set(c, this.seq++);
        return true;
      }
    }
    return false;
  }
}

/** Remove t from a, keeping the others' order (splice without the array of removed elements it allocates). */
function removeAt(a: Task[], t: Task): boolean {
  const i = a.indexOf(t);
  if (i < 0) return false;
  const last = a.length - 1;
  for (let j = i; j < last; j++) a[j] = a[j + 1] as Task;
  a.pop();
  return true;
}
