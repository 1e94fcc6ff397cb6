/**
 * Softirq processing: the __do_softirq restart loop with its time and restart limits, the
 * ksoftirqd thread, and softirqs run at local_bh_enable. Which context runs them at irq exit is the
 * CPU's business (Cpu.irqExit, following the profile's softirqPolicy).
 */
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import { netRxAction } from "./napi.js";
import { PREEMPT, RESCHED, SLEEP, type Task } from "./task.js";

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
 */
export function* doSoftirq(k: Kernel, cpu: Cpu): Generator<number, void, void> {
  const end = cpu.jiffies() + msecsToJiffies(k, k.f.maxSoftirqTimeMs);
  let restart = k.f.maxSoftirqRestart;
  for (;;) {
    const pending = cpu.softirqPending;
    cpu.softirqPending = 0;
    if (pending & NET_RX_SOFTIRQ) yield* netRxAction(k, cpu);
    if (cpu.softirqPending === 0) return;
    if (cpu.jiffies() < end && !cpu.needResched && --restart > 0) continue;
    cpu.wakeupSoftirqd();
    return;
  }
}

/** run_ksoftirqd() in the smpboot loop: process pending softirqs with BHs disabled, then cond_resched(). */
export function* ksoftirqdBody(k: Kernel, cpu: Cpu, task: Task): Generator<number, void, void> {
  for (;;) {
    if (cpu.softirqPending === 0) {
      yield SLEEP; // ksoftirqd_should_run() is false
      continue;
    }
    task.bh++;
    yield* doSoftirq(k, cpu);
    task.bh--;
    yield RESCHED;
  }
}

/**
 * local_bh_enable() from task context: at depth 0, run pending softirqs here (do_softirq), unless
 * the "4.9" policy defers them to a runnable ksoftirqd.
 */
export function* localBhEnable(k: Kernel, task: Task): Generator<number, void, void> {
  task.bh--;
  const cpu = k.cpus[task.cpu] as Cpu;
  if (task.bh > 0) return;
  if (bhEnableRunsSoftirq(k, cpu)) {
    task.bh++;
    task.softirqCtx++; // in_serving_softirq(): irqtime_account_irq() counts this as softirq time
    yield* doSoftirq(k, cpu);
    task.softirqCtx--;
    task.bh--;
  }
  yield PREEMPT; // preempt_check_resched() at the end of __local_bh_enable_ip
}

/**
 * Whether a local_bh_enable() on this CPU now would run softirqs (__local_bh_enable_ip ->
 * do_softirq): something is pending, we are not in interrupt, and under the "4.9" policy
 * do_softirq() does not defer to a runnable ksoftirqd (ksoftirqd_running()).
 */
export function bhEnableRunsSoftirq(k: Kernel, cpu: Cpu): boolean {
  return cpu.softirqPending !== 0 && !cpu.inInterrupt() && !(k.policy === "4.9" && cpu.ksoftirqdRunning());
}
