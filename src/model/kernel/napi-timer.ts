/**
 * The per-NAPI knobs of IRQ deferral and preferred busy polling, and the NAPI watchdog hrtimer they
 * drive: napi_defer_hard_irqs, gro_flush_timeout, irq_suspend_timeout (6.13+) and the
 * NAPI_STATE_PREFER_BUSY_POLL bit a busy poller with SO_PREFER_BUSY_POLL sets. Attached to a Napi
 * (napi.tun) only when a configuration uses them, so the plain completion path stays as it was.
 */
import type { Cpu, IrqAction } from "./cpu.js";
import type { Target } from "./events.js";
import type { Kernel } from "./kernel.js";
import { type Napi, napiSchedule, napiScheduleOn } from "./napi.js";

/** The knobs of one NAPI instance (netdev napi-set attributes; sysfs sets them device-wide). */
export interface NapiKnobs {
  /** napi_defer_hard_irqs: empty polls the IRQ stays masked for while the watchdog re-polls. */
  deferHardIrqs: number;
  /** gro_flush_timeout (ns): the watchdog delay used while IRQs are deferred. */
  groFlushTimeoutNs: number;
  /** irq_suspend_timeout (ns): the watchdog delay while an epoll busy poller keeps IRQs suspended. */
  irqSuspendTimeoutNs: number;
}

export const NO_KNOBS: NapiKnobs = { deferHardIrqs: 0, groFlushTimeoutNs: 0, irqSuspendTimeoutNs: 0 };

export class NapiTimer implements Target {
  readonly napi: Napi;
  readonly k: Kernel;
  knobs: NapiKnobs;
  /** napi->defer_hard_irqs_count */
  deferCount = 0;
  /** NAPI_STATE_PREFER_BUSY_POLL */
  preferBusyPoll = false;
  /** Absolute expiry of the armed watchdog, or -1. */
  expires = -1;
  /** The CPU the timer was armed on (HRTIMER_MODE_REL_PINNED). */
  private cpu = 0;
  private gen = 0;
  // counters for tests and reports
  timerFires = 0;
  deferredCompletions = 0;
  preferExits = 0;
  private readonly action: IrqAction;

  constructor(napi: Napi, knobs: NapiKnobs) {
    this.napi = napi;
    this.k = napi.k;
    this.knobs = { ...knobs };
    // hrtimer_interrupt() running napi_watchdog(); charged like the local timer interrupt
    this.action = { name: "hrtimer", costNs: this.k.f.timerIrqNs, handler: (c) => this.watchdog(c) };
  }

  resetStats(): void {
    this.timerFires = 0;
    this.deferredCompletions = 0;
    this.preferExits = 0;
  }

  /** hrtimer_start(&napi->timer, timeout, HRTIMER_MODE_REL_PINNED): (re)arm on this CPU. */
  arm(ns: number, cpu: Cpu): void {
    this.cpu = cpu.id;
    this.expires = this.k.q.now + ns;
    this.k.q.call(this.expires, this, ++this.gen);
  }

  /** hrtimer_cancel() */
  cancel(): void {
    this.gen++;
    this.expires = -1;
  }

  /** Event target: the hrtimer expired (unless re-armed or cancelled since): a hardirq on its CPU. */
  fire(gen: number): void {
    if (gen !== this.gen) return;
    this.expires = -1;
    (this.k.cpus[this.cpu] as Cpu).raiseIrq(this.action);
  }

  /**
   * napi_watchdog(): take SCHED without setting MISSED (not a device IRQ), clear PREFER_BUSY_POLL
   * and __napi_schedule_irqoff: NET_RX raised in hardirq context (or the napi kthread woken).
   */
  private watchdog(cpu: Cpu): void {
    this.timerFires++;
    const n = this.napi;
    if (n.sched) return;
    n.sched = true;
    this.preferBusyPoll = false;
    napiScheduleOn(n, cpu);
  }

  /**
   * napi_complete_done() past the IN_BUSY_POLL check, as of 6.13: work done reloads the defer
   * counter; with PREFER_BUSY_POLL set an irq_suspend_timeout keeps the IRQ masked; otherwise a
   * positive counter is decremented and, with a gro_flush_timeout, keeps the IRQ masked too. Then
   * SCHED, SCHED_THREADED and PREFER_BUSY_POLL are cleared (MISSED reschedules instead) and the
   * watchdog is armed with the chosen timeout. True: the driver may re-enable its IRQ. (UDP without
   * GRO holds no packets, so gro.bitmask never adds a timeout of its own here.)
   */
  completeDone(cpu: Cpu, work: number): boolean {
    const n = this.napi;
    let ret = true;
    let timeout = 0;
    if (work > 0) this.deferCount = this.knobs.deferHardIrqs;
    if (this.preferBusyPoll) {
      timeout = this.knobs.irqSuspendTimeoutNs;
      if (timeout) ret = false;
    }
    if (ret && this.deferCount > 0) {
      this.deferCount--;
      timeout = this.knobs.groFlushTimeoutNs;
      if (timeout) ret = false;
    }
    n.schedThreaded = false;
    this.preferBusyPoll = false;
    if (n.missed) {
      n.missed = false;
      napiScheduleOn(n, cpu);
      return false;
    }
    n.sched = false;
    if (timeout) this.arm(timeout, cpu);
    if (!ret) this.deferredCompletions++;
    return ret;
  }

  /**
   * __napi_poll() when the poll used its whole weight but PREFER_BUSY_POLL is set: complete instead
   * of repolling (leaving the instance to the busy poller, or to the watchdog), and napi_schedule()
   * it again only when napi_complete_done said no timer will.
   */
  preferExit(cpu: Cpu, work: number): void {
    this.preferExits++;
    if (this.completeDone(cpu, work)) napiSchedule(this.napi, cpu);
  }
}

/** Attach the knobs to a NAPI (what `napi set` or the device-wide sysfs files do on a host). */
export function attachNapiKnobs(n: Napi, knobs: NapiKnobs): NapiTimer {
  const t = new NapiTimer(n, knobs);
  n.tun = t;
  return t;
}
