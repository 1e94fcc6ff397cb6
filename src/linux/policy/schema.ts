/**
 * The policy file's shape (YAML, version 1), validated with zod. Strings that carry syntax (CPU
 * lists, durations, globs) are parsed here too, so that every error has a path into the file.
 * The result is a normalised Policy: CPU lists as numbers, durations as integer ns.
 */
import { z } from "zod";
import { parseCpuList, parseDuration } from "../../core/units.js";
import type { KernelThreaded } from "../../core/vocabulary.js";
import type { HostSchedPolicy } from "../types.js";

/** Largest policy file napilab reads: anything bigger is not a hand-written policy. */
export const POLICY_MAX_BYTES = 256 * 1024;

/** A CPU list given as a string in the kernel's format ("0-3,6") or a single CPU number. */
const cpuListField = z.union([z.number().int().min(0).max(8191), z.string()]).transform((v, ctx) => {
  if (typeof v === "number") return [v];
  try {
    return parseCpuList(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** A duration with a unit ("200us") or an integer number of nanoseconds. */
const duration = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === "number") return v;
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

const nice = z.number().int().min(-20, "nice must be -20 to 19").max(19, "nice must be -20 to 19");
const prio = z
  .number()
  .int()
  .min(1, "real-time priority must be 1 to 99")
  .max(99, "real-time priority must be 1 to 99");

const schedSchema = z.discriminatedUnion(
  "policy",
  [
    z.strictObject({ policy: z.literal(["other", "normal"]), nice: nice.default(0) }),
    z.strictObject({ policy: z.literal("batch"), nice: nice.default(0) }),
    z.strictObject({ policy: z.literal("idle") }),
    z.strictObject({ policy: z.literal(["fifo", "rr"]), prio }),
    z
      .strictObject({
        policy: z.literal("deadline"),
        runtime: duration,
        deadline: duration.optional(),
        period: duration.optional(),
      })
      .superRefine((d, ctx) => {
        // sched_setattr's __checkparam_dl: 1.024us <= runtime <= deadline <= period
        const deadline = d.deadline ?? d.period;
        const period = d.period ?? d.deadline;
        if (deadline === undefined || period === undefined)
          ctx.addIssue({ code: "custom", message: "deadline needs a deadline or a period", path: [] });
        else if (d.runtime < 1024)
          ctx.addIssue({ code: "custom", message: "runtime must be at least 1.024us", path: ["runtime"] });
        else if (d.runtime > deadline)
          ctx.addIssue({ code: "custom", message: "runtime must not exceed deadline", path: ["runtime"] });
        else if (deadline > period)
          ctx.addIssue({ code: "custom", message: "deadline must not exceed period", path: ["deadline"] });
      }),
  ],
  { error: "policy must be one of other, batch, idle, fifo, rr, deadline" },
);

const threadedSchema = z
  .enum(["disabled", "enabled", "busy-poll", "softirq", "threaded"], {
    error: "threaded must be disabled, enabled or busy-poll (or softirq, threaded)",
  })
  .transform((t): KernelThreaded => (t === "softirq" ? "disabled" : t === "threaded" ? "enabled" : t));

/** A device name or a shell glob over names (*, ?, [...]); at most 15 characters like IFNAMSIZ. */
const deviceGlob = z
  .string()
  .min(1)
  .regex(/^[^/\s]{1,64}$/, "device must be a name or glob without '/' or spaces");

const ruleSchema = z
  .strictObject({
    device: deviceGlob,
    driver: z.string().min(1).optional(),
    queues: cpuListField.optional(),
    threaded: threadedSchema.optional(),
    cpus: cpuListField.optional(),
    "avoid-cpus": cpuListField.optional(),
    spread: z.boolean().default(false),
    sched: schedSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.sched?.policy === "deadline" && (r.cpus !== undefined || r.spread))
      ctx.addIssue({
        code: "custom",
        path: ["sched"],
        message:
          "a SCHED_DEADLINE kthread must keep every CPU of its root domain: drop cpus/spread from this rule",
      });
  });

export const policyFileSchema = z.strictObject({
  version: z.literal(1, { error: "version must be 1" }),
  netns: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, "netns must be a name as in ip netns")
    .optional(),
  "avoid-cpus": cpuListField.optional(),
  rescan: duration.optional(),
  rules: z.array(ruleSchema).min(1, "a policy needs at least one rule"),
});

export type PolicyFile = z.output<typeof policyFileSchema>;
type RuleFile = PolicyFile["rules"][number];

/** One rule, normalised: what it matches and what it declares. */
export interface PolicyRule {
  /** Position in the file (0-based) and `file:line:col` of the rule, for logs and errors. */
  index: number;
  where: string;
  device: string;
  driver?: string;
  /** Queue indexes (or NAPI positions when the kernel links no queue) the rule is limited to. */
  queues?: number[];
  threaded?: KernelThreaded;
  /** CPUs the kthreads may use, with avoided CPUs already removed; undefined = leave as is. */
  cpus?: number[];
  spread: boolean;
  sched?: HostSchedPolicy;
}

export interface Policy {
  version: 1;
  /** The file it came from (as given), for messages. */
  source: string;
  netns?: string;
  /** Period of the safety-net rescan of `policy keep`, in ns. */
  rescanNs?: number;
  rules: PolicyRule[];
}

export function toSched(s: NonNullable<RuleFile["sched"]>): HostSchedPolicy {
  switch (s.policy) {
    case "other":
    case "normal":
      return { policy: "other", nice: s.nice };
    case "batch":
      return { policy: "batch", nice: s.nice };
    case "idle":
      return { policy: "idle" };
    case "fifo":
    case "rr":
      return { policy: s.policy, priority: s.prio };
    case "deadline": {
      const deadlineNs = (s.deadline ?? s.period) as number;
      return { policy: "deadline", runtimeNs: s.runtime, deadlineNs, periodNs: s.period ?? deadlineNs };
    }
  }
}
