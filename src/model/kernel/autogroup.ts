/**
 * Task groups in the fair class, as autogroup makes them: with kernel.sched_autogroup_enabled = 1
 * (CONFIG_SCHED_AUTOGROUP) every session's tasks share one task group whose weight (tg->shares,
 * 1024 at autogroup nice 0) is spread over the CPUs in proportion to the group's load on each
 * (calc_group_shares), while kernel threads (a NAPI kthread, ksoftirqd) stay in the root group.
 * So a NAPI kthread sharing a CPU with one receiver of a two-thread process gets 2/3 of it, not 1/2,
 * and with 16 receivers there it still gets about half.
 *
 * The model's fair class is flat, so a group is folded into its tasks' weights: each task of the
 * group on a CPU weighs the group's share there divided by the group's tasks on that CPU. This is
 * exact while every task of the group is runnable (the bench's flood keeps them so); when some sleep
 * the real group entity keeps its weight for the others, which the fold does not.
 */
import type { Task } from "./task.js";

/** ROOT_TASK_GROUP_LOAD / an autogroup's shares at nice 0 (scale_load_down(NICE_0_LOAD)). */
export const GROUP_SHARES = 1024;
/** MIN_SHARES (kernel/sched/sched.h): the least weight a group entity gets on a CPU. */
export const MIN_SHARES = 2;

/**
 * calc_group_shares() for a group whose tasks are always runnable: on CPU c the group entity weighs
 * shares * n_c / N (n_c of its N tasks there), clamped to [MIN_SHARES, shares]. Sets each task's
 * weight to its part of that. Call before the tasks are first woken.
 */
export function applyGroupShares(tasks: Task[], shares = GROUP_SHARES): void {
  const n = tasks.length;
  if (n === 0) return;
  const onCpu = new Map<number, number>();
  for (const t of tasks) onCpu.set(t.cpu, (onCpu.get(t.cpu) ?? 0) + 1);
  for (const t of tasks) {
    const here = onCpu.get(t.cpu) ?? 1;
    const groupWeight = Math.min(shares, Math.max(MIN_SHARES, (shares * here) / n));
    t.weight = Math.max(MIN_SHARES, Math.round(groupWeight / here));
  }
}
