/**
 * Make the host match a policy: snapshot, plan, apply the threaded switches, snapshot again (new
 * kthreads have new pids), apply kthread placement and class, and verify with a last snapshot.
 * `policy apply` runs it as a transaction (first failure: undo everything done, in reverse, and
 * report); `policy keep` runs it best-effort (a failed step is logged and retried on the next event).
 */
import { HostError, UserError } from "../../core/errors.js";
import { formatCpuList } from "../../core/units.js";
import type { KernelThreaded } from "../../core/vocabulary.js";
import { samePolicy, setAffinity, setSchedPolicy } from "../sched.js";
import { readDeviceThreaded, writeDeviceThreaded } from "../sysfs.js";
import type { HostSession, HostState } from "./host.js";
import { type Action, describeAction, type Plan, planPolicy, policyMatchesDevice } from "./plan.js";
import type { Policy } from "./schema.js";

/** Told of each action: applied (and read back), or failed with `error`. */
export type ActionLog = (entry: { action: Action; line: string; ok: boolean; error?: string }) => void;

export interface ReconcileResult {
  /** The plan as first computed (what `diff` would have shown). */
  first: Plan;
  /** The plan after the last snapshot: empty actions when the host matches. */
  last: Plan;
  applied: number;
  failed: number;
  /** The host as last seen. */
  state: HostState;
}

/** Perform one action; returns how to undo it. Every setter reads back and checks the kernel's value. */
function perform(session: HostSession, sysfs: string | undefined, a: Action): () => void {
  switch (a.kind) {
    case "device-threaded": {
      if (sysfs === undefined) throw new Error("device switch without sysfs");
      const prev: KernelThreaded = readDeviceThreaded(sysfs, a.ifname);
      writeDeviceThreaded(sysfs, a.ifname, a.to);
      const now = readDeviceThreaded(sysfs, a.ifname);
      if (now !== a.to)
        throw new HostError(`kernel reports ${a.ifname}'s device switch as ${now} after ${a.to}`);
      return () => writeDeviceThreaded(sysfs, a.ifname, prev);
    }
    case "napi-threaded": {
      session.netdev.setNapiThreaded(a.napiId, a.to);
      return () => session.netdev.setNapiThreaded(a.napiId, a.from);
    }
    case "affinity": {
      const pid = a.pid as number;
      const got = setAffinity(pid, a.to);
      if (formatCpuList(got) !== formatCpuList(a.to))
        throw new HostError(
          `kernel reports thread ${pid} on CPUs ${formatCpuList(got)} after ${formatCpuList(a.to)}`,
        );
      const from = a.from;
      return () => {
        if (from) setAffinity(pid, from);
      };
    }
    case "sched": {
      const pid = a.pid as number;
      const got = setSchedPolicy(pid, a.to);
      if (!samePolicy(got, a.to)) throw new HostError(`kernel reports a different class for thread ${pid}`);
      const from = a.from;
      return () => {
        if (from) setSchedPolicy(pid, from);
      };
    }
  }
}

function isThreadedAction(a: Action): boolean {
  return a.kind === "device-threaded" || a.kind === "napi-threaded";
}

export interface ReconcileOptions {
  /** Undo everything and throw on the first failure (policy apply); else log and go on (keep). */
  transactional: boolean;
  log: ActionLog;
}

/**
 * Bring the host to the policy. `sysfs` is the root of a sysfs showing the session's namespace
 * (device switches and drivers); undefined skips device switches.
 */
export function reconcile(
  session: HostSession,
  policy: Policy,
  sysfs: string | undefined,
  opts: ReconcileOptions,
): ReconcileResult {
  const want = (l: { ifname: string }, driver: string | undefined) =>
    policyMatchesDevice(policy, l.ifname, driver);
  const undos: { undo: () => void; line: string }[] = [];
  let applied = 0;
  let failed = 0;
  let first: Plan | undefined;
  let state = session.snapshot(sysfs, want);
  let plan = planPolicy(policy, state);
  const rollback = (err: unknown): never => {
    const problems: string[] = [];
    for (const u of undos.reverse())
      try {
        u.undo();
      } catch (e) {
        problems.push(e instanceof Error ? e.message : String(e));
      }
    const msg = err instanceof Error ? err.message : String(err);
    const note =
      undos.length === 0
        ? ""
        : problems.length === 0
          ? `; the ${undos.length} change(s) made before were restored`
          : `; restoring the earlier changes failed too: ${problems.join("; ")}`;
    throw err instanceof UserError && err.exitCode === 2 ? err : new HostError(`${msg}${note}`);
  };
  // round 1: threaded switches; round 2+: kthreads (their pids are known only after round 1)
  for (let round = 0; round < 4; round++) {
    first ??= plan;
    const threaded = plan.actions.filter(isThreadedAction);
    const runnable =
      threaded.length > 0
        ? threaded
        : plan.actions.filter((a) => !isThreadedAction(a) && "pid" in a && a.pid !== null);
    if (runnable.length === 0) break;
    for (const a of runnable) {
      const line = describeAction(a);
      try {
        const undo = perform(session, sysfs, a);
        undos.push({ undo, line });
        applied++;
        opts.log({ action: a, line, ok: true });
      } catch (err) {
        failed++;
        const error = err instanceof Error ? err.message : String(err);
        opts.log({ action: a, line, ok: false, error });
        if (opts.transactional) rollback(err);
      }
    }
    state = session.snapshot(sysfs, want);
    plan = planPolicy(policy, state);
    if (failed > 0) break; // keep: the next event or rescan retries; apply: rolled back already
  }
  if (opts.transactional && plan.actions.length > 0)
    rollback(
      new HostError(
        `the host still differs from the policy after applying: ${describeAction(plan.actions[0] as Action)}`,
      ),
    );
  return { first: first ?? plan, last: plan, applied, failed, state };
}
