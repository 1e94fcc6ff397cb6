/**
 * The IRQ-deferral part of `napilab napi set`: --defer-hard-irqs, --gro-flush-timeout and
 * --irq-suspend-timeout, parsed here and applied by src/linux/napi-irq.ts (napi-set per NAPI,
 * device-wide sysfs for DEV targets), printed before/after as read back from the kernel.
 */
import { InputError } from "../../core/errors.js";
import { formatDuration, parseDuration, parseInteger } from "../../core/units.js";
import { type NapiIrqChange, type NapiIrqKnobs, setNapiIrqKnobs } from "../../linux/napi-irq.js";
import type { NapiInfo } from "../../linux/types.js";
import { renderTable } from "../output.js";

export interface IrqKnobFlags {
  deferHardIrqs?: string;
  groFlushTimeout?: string;
  irqSuspendTimeout?: string;
}

export const IRQ_KNOB_HELP = `
IRQ deferral (the busy-polling family; see docs/model.md):
  --defer-hard-irqs N         napi_defer_hard_irqs: empty polls before the NIC IRQ is re-armed
  --gro-flush-timeout T       gro_flush_timeout: the NAPI watchdog delay while IRQs are deferred
                              (a bare number is ns, as in sysfs)
  --irq-suspend-timeout T     irq_suspend_timeout (6.13+): the watchdog delay while an epoll busy
                              poller with prefer_busy_poll keeps IRQs suspended
  A DEV target sets napi_defer_hard_irqs and gro_flush_timeout device-wide through sysfs (every
  NAPI, and NAPIs the driver creates later); DEV/ID sets one NAPI through netdev napi-set.
  irq_suspend_timeout is per NAPI only. Every value is read back from the kernel.
  Examples:
    napilab napi set eth0 --defer-hard-irqs 2 --gro-flush-timeout 200us
    napilab napi set eth0/8193 --irq-suspend-timeout 20ms --json
`;

/** The knobs given on the command line, or null when none was. */
export function parseIrqKnobFlags(o: IrqKnobFlags): NapiIrqKnobs | null {
  const k: NapiIrqKnobs = {};
  if (o.deferHardIrqs !== undefined)
    k.deferHardIrqs = parseInteger(o.deferHardIrqs, "--defer-hard-irqs", 0, 2 ** 31 - 1);
  if (o.groFlushTimeout !== undefined) k.groFlushTimeoutNs = parseDuration(o.groFlushTimeout, "ns");
  if (o.irqSuspendTimeout !== undefined) k.irqSuspendTimeoutNs = parseDuration(o.irqSuspendTimeout, "ns");
  return Object.keys(k).length === 0 ? null : k;
}

/** Apply parsed knobs to targets. */
export function applyIrqKnobs(
  targets: string[],
  knobs: NapiIrqKnobs,
  netns: string | undefined,
): NapiIrqChange[] {
  if (targets.length === 0) throw new InputError("no target given");
  return setNapiIrqKnobs(targets, knobs, { netns });
}

function knobText(n: NapiInfo): string {
  const t = (v: number | undefined) => (v === undefined ? "?" : v === 0 ? "0" : formatDuration(v));
  return `defer ${n.deferHardIrqs ?? "?"}, gro ${t(n.groFlushTimeoutNs)}, suspend ${t(n.irqSuspendTimeoutNs)}`;
}

/** Before/after table of a knob change. */
export function irqKnobRows(changes: NapiIrqChange[]): string {
  return renderTable(
    ["TARGET", "BEFORE", "AFTER (read back)", "VIA"],
    changes.map((c) => [
      `${c.after.ifname}/${c.after.id}`,
      knobText(c.before),
      knobText(c.after),
      [...new Set(Object.values(c.via))].join("+"),
    ]),
    ["left", "left", "left", "left"],
  );
}
