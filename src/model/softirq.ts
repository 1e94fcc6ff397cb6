/**
 * Softirq processing: the __do_softirq restart loop with its time and restart limits, the
 * ksoftirqd thread, and softirqs run at local_bh_enable. Which context runs them at irq exit is the
 * CPU's business (Cpu.irqExit, following the profile's softirqPolicy).
 */
import type { Cpu } from "./cpu.js";
import type { Kernel } from "./kernel.js";
import type { Napi } from "./napi.js";
import { netdevBudgetUsecsOf } from "./profile.js";
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
 *
 * NET_RX's handler, net_rx_action(), is written inline here rather than as a generator of its own:
 * every chunk a driver's poll yields passes through each generator level, and softirq mode runs
 * about one chunk per datagram.
 */
export function* doSoftirq(k: Kernel, cpu: Cpu): Generator<number, void, void> {
  const end = cpu.jiffies() + msecsToJiffies(k, k.f.maxSoftirqTimeMs);
  let restart = k.f.maxSoftirqRestart;
  for (;;) {
    const pending = cpu.softirqPending;
    cpu.softirqPending = 0;
    if (pending & NET_RX_SOFTIRQ) {
      // net_rx_action(): poll the CPU's NAPIs round-robin until the list is empty, netdev_budget
      // packets are done or netdev_budget_usecs (in jiffies) have passed; a cut-short round counts a
      // time_squeeze and re-raises NET_RX for what is left.
      // time_limit = jiffies + usecs_to_jiffies(netdev_budget_usecs)
      const timeLimit = cpu.jiffies() + usecsToJiffies(k, netdevBudgetUsecsOf(k.f));
      let budget = k.f.netdevBudget;
      const list = cpu.pollList;
      // the list NAPIs scheduled meanwhile go on: the CPU's spare (empty) array, to allocate nothing
      const fresh = cpu.pollSpare ?? [];
      cpu.pollSpare = null;
      cpu.pollList = fresh;
      let repoll: Napi[] | null = null;
      let i = 0;
      while (i < list.length) {
        const n = list[i++] as Napi;
        // napi_poll(): poll once; a NAPI that used its whole weight goes on the repoll list
        let work = 0;
        if (n.sched) work = yield* n.driver.poll(n, n.weight, cpu);
        n.polls++;
        n.packets += work;
        if (work >= n.weight) {
          // __napi_poll(): busy polling is preferred, so give the instance up instead of repolling
          if (n.tun?.preferBusyPoll) n.tun.preferExit(cpu, work);
          else {
            if (repoll === null) repoll = [];
            repoll.push(n);
          }
        }
        budget -= work;
        const outOfBudget = budget <= 0;
        if (outOfBudget || cpu.jiffies() >= timeLimit) {
          cpu.softnet.timeSqueeze++;
          if (outOfBudget) cpu.softnet.squeezeBudget++;
          else cpu.softnet.squeezeTime++;
          break;
        }
      }
      // leftovers first, then NAPIs scheduled meanwhile, then the ones that want another round
      const rest = cpu.pollList;
      let w = 0;
      for (let j = i; j < list.length; j++) list[w++] = list[j] as Napi;
      for (let j = 0; j < rest.length; j++) list[w++] = rest[j] as Napi;
      if (repoll !== null) for (let j = 0; j < repoll.length; j++) list[w++] = repoll[j] as Napi;
      while (list.length > w) list.pop(); // (pop: cheaper than setting length, a runtime call)
      cpu.pollList = list;
      while (rest.length > 0) rest.pop();
      cpu.pollSpare = rest;
      if (w > 0) cpu.softirqPending |= NET_RX_SOFTIRQ;
    }
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
