/**
 * Forced interrupt threading (the `threadirqs` boot option, force_irqthreads()): a device interrupt's
 * hardirq runs only the primary handler (irq_default_primary_handler), which wakes the action's
 * thread irq/<N>-<name> (SCHED_FIFO 50, bound to the IRQ's CPU); the thread runs the driver's
 * handler through irq_forced_thread_fn(), with BHs disabled, so the NET_RX softirq the handler raises
 * runs at that thread's local_bh_enable(), in thread context. Softirqs raised in a real hardirq (the
 * NAPI watchdog hrtimer, for instance) go to ksoftirqd instead (invoke_softirq, hook in cpu.ts).
 */
import type { SchedPolicy } from "../../core/vocabulary.js";
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import { napiSchedule } from "./napi.js";
import type { RxQueue } from "./nic.js";
import { localBhEnable } from "./softirq.js";
import { RUNNING, SLEEP, type Task } from "./task.js";

/** setup_irq_thread(): irq threads run SCHED_FIFO at MAX_RT_PRIO / 2. */
export const IRQ_THREAD_POLICY: SchedPolicy = { policy: "fifo", priority: 50 };

export class IrqThread {
  readonly task: Task;
  readonly k: Kernel;
  /** IRQTF_RUNTHREAD: the primary handler asked the thread to run. */
  runThread = false;
  /** Handler invocations in thread context. */
  runs = 0;
  readonly handler: (cpu: Cpu) => void;

  constructor(
    k: Kernel,
    o: { irq: number; name: string; cpu: number; policy?: SchedPolicy; handler: (cpu: Cpu) => void },
  ) {
    this.k = k;
    this.handler = o.handler;
    this.task = k.createTask(`irq/${o.irq}-${o.name}`, "irqthread", o.policy ?? IRQ_THREAD_POLICY, [o.cpu], {
      body: (t) => irqThreadBody(k, this, t),
      preemptible: false,
    });
    this.task.cpu = o.cpu;
  }

  /** __irq_wake_thread() from irq_default_primary_handler: set RUNTHREAD and wake the thread. */
  wake(): void {
    this.runThread = true;
    if (this.task.state !== RUNNING) this.k.wake(this.task);
  }
}

/**
 * irq_thread(): irq_wait_for_interrupt() sleeps until RUNTHREAD is set and clears it; then
 * irq_forced_thread_fn(): local_bh_disable(), the driver's handler with interrupts off (its cost is
 * the profile's hardirqNs: the same handler work, moved), irq_finalize_oneshot(), local_bh_enable(),
 * which runs the pending NET_RX here (do_softirq in thread context, counted as softirq time).
 */
export function* irqThreadBody(k: Kernel, it: IrqThread, task: Task): Generator<number, void, void> {
  for (;;) {
    if (!it.runThread) {
      yield SLEEP;
      continue;
    }
    it.runThread = false;
    task.bh++;
    yield k.f.hardirqNs;
    it.runs++;
    it.handler(k.cpus[task.cpu] as Cpu);
    yield* localBhEnable(k, task);
  }
}

/**
 * Thread the interrupts of these rx queues (request_threaded_irq with forced threading): one irq
 * thread per queue on the queue's IRQ CPU, the primary handler charging a wake-up in the hardirq.
 * Sets force_irqthreads() for the whole kernel, as the boot option does.
 */
export function threadIrqs(
  k: Kernel,
  queues: RxQueue[],
  o: { dev: string; firstIrq?: number; policy?: SchedPolicy },
): IrqThread[] {
  k.forceIrqThreads = true;
  return queues.map((rxq, i) => {
    const it = new IrqThread(k, {
      irq: (o.firstIrq ?? 40) + i,
      name: `${o.dev}-rx-${rxq.index}`,
      cpu: rxq.irqCpu,
      policy: o.policy,
      handler: (cpu) => napiSchedule(rxq.napi, cpu), // the driver's handler: napi_schedule()
    });
    rxq.primaryHandler = () => it.wake();
    rxq.primaryExtraNs = k.f.wakeupNs;
    return it;
  });
}
