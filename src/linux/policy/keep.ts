/**
 * `policy keep`: apply a policy, then keep it applied while the kernel re-creates NAPIs and their
 * kthreads (link flap, channel change, driver reset). Kernel notifications trigger a reconcile at
 * once; while the host still lags the policy (NAPIs not there yet, kthreads not yet created) it is
 * retried on a short back-off; a periodic rescan is the safety net for anything missed.
 */
import { UserError } from "../../core/errors.js";
import { withSysfs } from "../sysfs.js";
import { type ActionLog, type ReconcileResult, reconcile } from "./apply.js";
import { HostSession } from "./host.js";
import type { Policy } from "./schema.js";
import { NetlinkWatcher, type WatchEvent } from "./watch.js";

/** Retry delays (ms) after an event while the host has not caught up with the policy. */
const CATCH_UP_MS = [2, 5, 10, 20, 50, 100, 200, 500, 1000];
export const DEFAULT_RESCAN_MS = 5000;
/** Extra looks after an event, for NAPIs a driver creates after notifying. */
const FOLLOW_UP_MS = [50, 500];

export interface KeepEvents {
  /** One line per applied or failed action. */
  action: ActionLog;
  /** Something the keeper did (start, reload, rescan result, a note), one line each. */
  info: (line: string, fields?: Record<string, unknown>) => void;
  /** A reconcile finished with the host matching the policy; `eventNs` is the triggering event's time. */
  settled?: (r: { reason: string; eventNs: bigint | undefined; doneNs: bigint; applied: number }) => void;
}

export class PolicyKeeper {
  private policy: Policy;
  private readonly session: HostSession;
  private watcher: NetlinkWatcher | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryStep = 0;
  private followUps: NodeJS.Timeout[] = [];
  private pending: { reason: string; eventNs: bigint | undefined } | undefined;
  private scheduled = false;
  private stopped = false;
  private lastNotes = "";
  /** Failures already logged: a step the kernel keeps refusing is logged once, not on every retry. */
  private readonly reported = new Set<string>();

  constructor(
    policy: Policy,
    private readonly netns: string | undefined,
    private readonly out: KeepEvents,
    private readonly rescanMs = policy.rescanNs ? Math.round(policy.rescanNs / 1e6) : DEFAULT_RESCAN_MS,
  ) {
    this.policy = policy;
    this.session = HostSession.open(netns);
  }

  /** Subscribe first (so nothing between the first apply and the subscription is missed), then apply. */
  start(): ReconcileResult {
    this.watcher = new NetlinkWatcher(this.netns, (events) => this.onEvents(events));
    this.watcher.start();
    this.out.info(`watching ${this.watcher.groups.join(", ")}; rescan every ${this.rescanMs} ms`);
    const r = this.run("start", undefined);
    this.armRescan();
    return r;
  }

  /** Replace the policy (SIGHUP) and apply it now. */
  reload(policy: Policy): void {
    this.policy = policy;
    this.out.info(`reloaded ${policy.source}: ${policy.rules.length} rule(s)`);
    this.trigger("reload", undefined);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
    clearTimeout(this.rescanTimer);
    clearTimeout(this.retryTimer);
    for (const t of this.followUps) clearTimeout(t);
    this.session.close();
  }

  private armRescan(): void {
    clearTimeout(this.rescanTimer);
    this.rescanTimer = setTimeout(() => {
      this.trigger("rescan", undefined);
      this.armRescan();
    }, this.rescanMs);
    this.rescanTimer.unref();
  }

  private onEvents(events: WatchEvent[]): void {
    // any of them may mean new NAPIs; the reconcile itself only looks at devices the policy matches
    const e = events[0] as WatchEvent;
    const what =
      e.source === "link"
        ? `link ${e.ifname ?? e.ifindex} ${e.deleted ? "deleted" : e.up ? "up" : "down"}`
        : `${e.source} notification`;
    this.retryStep = 0;
    this.trigger(events.length > 1 ? `${what} (+${events.length - 1})` : what, e.receivedNs);
    // a driver may finish creating NAPIs after its notification: look again a little later
    for (const t of this.followUps) clearTimeout(t);
    this.followUps = FOLLOW_UP_MS.map((ms) =>
      setTimeout(() => this.trigger(`${what}: follow-up`, undefined), ms),
    );
  }

  /** Coalesce triggers into one reconcile on the next turn of the event loop. */
  private trigger(reason: string, eventNs: bigint | undefined): void {
    if (this.stopped) return;
    if (this.pending === undefined || (this.pending.eventNs === undefined && eventNs !== undefined))
      this.pending = { reason, eventNs };
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const p = this.pending;
      this.pending = undefined;
      if (p && !this.stopped) this.run(p.reason, p.eventNs);
    });
  }

  private run(reason: string, eventNs: bigint | undefined): ReconcileResult {
    let r: ReconcileResult;
    try {
      r = withSysfs(this.netns, (sysfs) =>
        reconcile(this.session, this.policy, sysfs, {
          transactional: false,
          log: (e) => {
            if (e.ok) this.out.action(e);
            else {
              const k = `${e.line}: ${e.error}`;
              if (!this.reported.has(k)) this.out.action(e);
              this.reported.add(k);
            }
          },
        }),
      );
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      this.out.info(`${reason}: could not read the host: ${err.message}`);
      this.retry(reason, eventNs);
      const empty = { actions: [], notes: [], matched: [] };
      return { first: empty, last: empty, applied: 0, failed: 1, state: { devices: [] } };
    }
    const notes = r.last.notes.join("; ");
    if (notes !== this.lastNotes && notes !== "") this.out.info(`note: ${notes}`);
    this.lastNotes = notes;
    const behind = r.last.actions.length > 0 || r.failed > 0;
    if (behind) this.retry(reason, eventNs);
    else {
      this.reported.clear();
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.out.settled?.({ reason, eventNs, doneNs: process.hrtime.bigint(), applied: r.applied });
    }
    return r;
  }

  /** The host lags the policy (kthreads not created yet, a step failed): try again shortly. */
  private retry(reason: string, eventNs: bigint | undefined): void {
    if (this.retryTimer !== undefined || this.stopped) return;
    // past the back-off list, the periodic rescan takes over (no busy retrying of a refused step)
    if (this.retryStep >= CATCH_UP_MS.length) return;
    const delay = CATCH_UP_MS[this.retryStep] as number;
    this.retryStep++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.trigger(reason, eventNs);
    }, delay);
  }
}
