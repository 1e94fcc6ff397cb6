/**
 * `napilab policy check|diff|apply|keep FILE`: a declared NAPI policy (YAML) validated, compared
 * with the host, applied as a transaction, or kept applied in the foreground. Thin layer over
 * src/linux/policy: parse options, call, print.
 */
import type { Command } from "@commander-js/extra-typings";
import { HostError, InputError } from "../../core/errors.js";
import { formatCpuList, formatDuration, parseDuration } from "../../core/units.js";
import { formatSchedPolicy, isCurrentNetns, kernelCaps, netnsPath, requireCaps } from "../../linux/index.js";
import {
  type Action,
  DEFAULT_RESCAN_MS,
  diffRows,
  HostSession,
  loadPolicy,
  type Plan,
  type Policy,
  PolicyKeeper,
  planPolicy,
  policyMatchesDevice,
  reconcile,
} from "../../linux/policy/index.js";
import { withSysfs } from "../../linux/sysfs.js";
import { printJson, renderTable } from "../output.js";

const NETNS_HELP =
  "the devices live in the named network namespace NAME (as in ip netns); overrides none, must agree with the file's netns";

const FILE_HELP = `
Policy file (YAML, version 1):
  version: 1
  netns: lab                 # optional: the named network namespace of the devices
  avoid-cpus: "0"            # optional: CPUs no kthread of this policy may use
  rescan: 5s                 # optional: safety-net rescan period of policy keep
  rules:
    - device: "eth*"         # name or glob (*, ?, [...]); required
      driver: mlx5_core      # optional glob: bus driver, or link kind (veth, ...) for virtual devices
      queues: "0-3"          # optional: only these rx queues (NAPI position when the kernel links none)
      threaded: enabled      # disabled | enabled | busy-poll
      cpus: "2-5"            # CPUs the kthreads may use
      avoid-cpus: "3"        # taken out of cpus (or of all online CPUs)
      spread: true           # one CPU each, round-robin over cpus, instead of all on all
      sched: { policy: fifo, prio: 10 }   # other|batch (nice), idle, fifo|rr (prio 1-99),
                                          # deadline (runtime, deadline, period: 200us, 1ms)
Rules apply in order; a later rule overrides an earlier one field by field. A rule without
queues that sets threaded sets the device-wide switch (/sys/class/net/DEV/threaded: kept by the
kernel for NAPIs it creates later); with queues it sets those NAPIs through netlink. Desired state
is keyed by device and queue, never by NAPI id or pid (both change when NAPIs are re-created).
Fields no rule declares, and devices no rule matches, are never touched.
`;

function netnsOf(policy: Policy, flag: string | undefined): string | undefined {
  if (flag !== undefined && policy.netns !== undefined && flag !== policy.netns)
    throw new InputError(`--netns ${flag} disagrees with netns: ${policy.netns} in ${policy.source}`);
  const ns = flag ?? policy.netns;
  if (ns !== undefined) netnsPath(ns); // unknown namespace: exit 2 before anything else
  return ns;
}

function needCaps(netns: string | undefined, what: string): void {
  const extra = netns !== undefined && !isCurrentNetns(netns) ? (["CAP_SYS_ADMIN"] as const) : [];
  requireCaps(["CAP_NET_ADMIN", "CAP_SYS_NICE", ...extra], what);
}

/** The capability note where it matters: rules asking for busy-poll on a kernel without it. */
function busyPollProblem(policy: Policy, netns: string | undefined): string | undefined {
  const asking = policy.rules.filter((r) => r.threaded === "busy-poll").map((r) => r.index + 1);
  if (asking.length === 0) return undefined;
  const caps = kernelCaps({ netns });
  if (caps.busyPoll) return undefined;
  return `this kernel (${caps.kernel}) does not support threaded busy-poll, which rule ${asking.join(", ")} of ${policy.source} asks for (it accepts disabled and enabled)`;
}

/** Snapshot and plan without changing anything. */
function diff(policy: Policy, netns: string | undefined): Plan {
  const session = HostSession.open(netns);
  try {
    return withSysfs(netns, (sysfs) =>
      planPolicy(
        policy,
        session.snapshot(sysfs, (l, d) => policyMatchesDevice(policy, l.ifname, d)),
      ),
    );
  } finally {
    session.close();
  }
}

function actionJson(a: Action): Record<string, unknown> {
  const base: Record<string, unknown> = {
    kind: a.kind,
    device: a.ifname,
    rule: a.origin.rule,
    where: a.origin.where,
  };
  if (a.kind !== "device-threaded")
    Object.assign(base, { target: a.label, napiId: a.napiId, pid: a.pid, kthread: a.kthread });
  switch (a.kind) {
    case "device-threaded":
    case "napi-threaded":
      return { ...base, from: a.from ?? null, to: a.to };
    case "affinity":
      return { ...base, from: a.from ? formatCpuList(a.from) : null, to: formatCpuList(a.to) };
    case "sched":
      return { ...base, from: a.from, to: a.to };
  }
}

/** SIGINT/SIGTERM during a synchronous apply are acted on once the host is consistent again. */
function deferSignals<T>(fn: () => T): T {
  let caught: NodeJS.Signals | undefined;
  const on = (s: NodeJS.Signals) => {
    caught = s;
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  try {
    return fn();
  } finally {
    setImmediate(() => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      if (caught) process.exit(caught === "SIGINT" ? 130 : 143);
    });
  }
}

function ruleSummary(p: Policy): string {
  return renderTable(
    ["RULE", "AT", "DEVICE", "DRIVER", "QUEUES", "THREADED", "CPUS", "SPREAD", "SCHED"],
    p.rules.map((r) => [
      r.index + 1,
      r.where,
      r.device,
      r.driver ?? "-",
      r.queues ? formatCpuList(r.queues) : "all",
      r.threaded ?? "-",
      r.cpus ? formatCpuList(r.cpus) : "-",
      r.spread ? "yes" : "no",
      r.sched ? formatSchedPolicy(r.sched) : "-",
    ]),
    ["right", "left", "left", "left", "left", "left", "left", "left", "left"],
  );
}

export function registerPolicy(program: Command): void {
  const policy = program
    .command("policy")
    .description(
      "declare NAPI threaded mode, kthread placement and class in a file; check, diff, apply, keep it",
    )
    .addHelpText("after", FILE_HELP);

  policy
    .command("check")
    .description(
      "validate a policy file offline (against this host's CPUs); exit 2 with file:line:col on any error",
    )
    .argument("<FILE>", "the policy file (YAML)")
    .option("--json", "print the normalised policy as one JSON object")
    .addHelpText("after", "\nExamples:\n  napilab policy check /etc/napilab/policy.yaml\n")
    .action((file, o) => {
      const p = loadPolicy(file);
      if (o.json) return printJson(p);
      process.stdout.write(
        `${file}: valid, ${p.rules.length} rule(s)${p.netns ? ` for network namespace '${p.netns}'` : ""}\n`,
      );
      process.stdout.write(`${ruleSummary(p)}\n`);
    });

  policy
    .command("diff")
    .description("what applying the policy would change on this host; changes nothing")
    .argument("<FILE>", "the policy file (YAML)")
    .option("--netns <NAME>", NETNS_HELP)
    .option("--json", "print one JSON object: {matched, changes, notes}")
    .addHelpText(
      "after",
      "\nExamples:\n  napilab policy diff policy.yaml\n  napilab policy diff policy.yaml --netns lab --json\n\n" +
        "KTHREAD (new): the kthread is created by a threaded change above it, so its pid is not known yet.\n",
    )
    .action((file, o) => {
      const p = loadPolicy(file);
      const netns = netnsOf(p, o.netns);
      const plan = diff(p, netns);
      const bp = busyPollProblem(p, netns);
      if (bp) plan.notes.unshift(bp);
      if (o.json)
        return printJson({ matched: plan.matched, changes: plan.actions.map(actionJson), notes: plan.notes });
      if (plan.matched.length === 0) process.stdout.write("the policy matches no device on this host\n");
      else if (plan.actions.length === 0)
        process.stdout.write(
          `no changes: ${plan.matched.map((m) => m.ifname).join(", ")} already match the policy\n`,
        );
      else
        process.stdout.write(
          `${renderTable(["TARGET", "KTHREAD", "SETTING", "NOW", "WANTED", "RULE"], diffRows(plan), ["left", "right", "left", "left", "left", "left"])}\n`,
        );
      for (const n of plan.notes) process.stdout.write(`note: ${n}\n`);
    });

  policy
    .command("apply")
    .description("validate, apply, read back; on any failure restore what was changed")
    .argument("<FILE>", "the policy file (YAML)")
    .option("--netns <NAME>", NETNS_HELP)
    .option("--json", "print one JSON object: {applied, notes}")
    .addHelpText(
      "after",
      "\nExamples:\n  napilab policy apply policy.yaml\n\nSettings last until the kernel re-creates the NAPIs (link flap, ethtool -L): use policy keep.\n",
    )
    .action((file, o) => {
      const p = loadPolicy(file);
      const netns = netnsOf(p, o.netns);
      needCaps(netns, "policy apply");
      const bp = busyPollProblem(p, netns);
      if (bp) throw new HostError(bp);
      const applied: Action[] = [];
      const r = deferSignals(() => {
        const session = HostSession.open(netns);
        try {
          return withSysfs(netns, (sysfs) =>
            reconcile(session, p, sysfs, {
              transactional: true,
              log: (e) => {
                if (e.ok) applied.push(e.action);
                if (!o.json)
                  process.stdout.write(
                    `${e.ok ? "" : "failed: "}${e.line}${e.error ? `: ${e.error}` : ""}\n`,
                  );
              },
            }),
          );
        } finally {
          session.close();
        }
      });
      if (o.json) return printJson({ applied: applied.map(actionJson), notes: r.last.notes });
      if (r.first.matched.length === 0) process.stdout.write("the policy matches no device on this host\n");
      else if (applied.length === 0)
        process.stdout.write("no changes: the host already matches the policy\n");
      else process.stdout.write(`applied ${applied.length} change(s), read back from the kernel\n`);
      for (const n of r.last.notes) process.stdout.write(`note: ${n}\n`);
    });

  policy
    .command("keep")
    .description(
      "apply, then keep the policy applied as the kernel re-creates NAPIs (foreground; Ctrl-C stops)",
    )
    .argument("<FILE>", "the policy file (YAML)")
    .option("--netns <NAME>", NETNS_HELP)
    .option(
      "--rescan <T>",
      `safety-net rescan period (default: the file's rescan, else ${DEFAULT_RESCAN_MS / 1000}s)`,
    )
    .option(
      "--json",
      "log JSON lines (one object per action or event, with CLOCK_MONOTONIC ns) instead of text",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  napilab policy keep /etc/napilab/policy.yaml\n  napilab policy keep policy.yaml --netns lab --json\n\n" +
        "Listens to rtnetlink link events and the netdev and ethtool notification groups, re-applies\n" +
        "within milliseconds of a link flap or channel change, and rescans periodically. One log line\n" +
        "per action on stdout (journald-friendly). SIGHUP reloads the file (a bad new file keeps the old\n" +
        "policy and logs why); SIGTERM/SIGINT exit 0 and leave the settings as they are.\n" +
        "A systemd unit is in the repository: systemd/napilab-keep.service.\n",
    )
    .action((file, o) => {
      const p = loadPolicy(file);
      const netns = netnsOf(p, o.netns);
      needCaps(netns, "policy keep");
      const bp = busyPollProblem(p, netns);
      if (bp) throw new HostError(bp);
      const rescanMs =
        o.rescan !== undefined
          ? Math.max(1, Math.round(parseDuration(o.rescan) / 1e6))
          : p.rescanNs !== undefined
            ? Math.round(p.rescanNs / 1e6)
            : DEFAULT_RESCAN_MS;
      const write = (line: string, fields: Record<string, unknown>) => {
        if (o.json)
          process.stdout.write(
            `${JSON.stringify({ t: String(process.hrtime.bigint()), ...fields, line })}\n`,
          );
        else process.stdout.write(`${line}\n`);
      };
      const keeper = new PolicyKeeper(
        p,
        netns,
        {
          action: (e) =>
            write(e.ok ? e.line : `failed: ${e.line}: ${e.error}`, {
              event: "action",
              ok: e.ok,
              ...actionJson(e.action),
              ...(e.error ? { error: e.error } : {}),
            }),
          info: (line, fields) => write(line, { event: "info", ...fields }),
          settled: (s) => {
            // quiet rescans log nothing; --json also reports event-triggered settles (bench:keep times them)
            if (s.applied === 0 && s.reason !== "start" && (!o.json || s.eventNs === undefined)) return;
            const after =
              s.eventNs === undefined
                ? ""
                : `, ${formatDuration(Number(s.doneNs - s.eventNs))} after the event`;
            write(`settled (${s.reason}): ${s.applied} change(s)${after}`, {
              event: "settled",
              reason: s.reason,
              applied: s.applied,
              eventNs: s.eventNs === undefined ? null : String(s.eventNs),
              doneNs: String(s.doneNs),
            });
          },
        },
        rescanMs,
      );
      const stop = (sig: NodeJS.Signals) => {
        write(`${sig}: stopping; settings stay as they are`, { event: "stop", signal: sig });
        keeper.stop();
        process.exit(0);
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
      process.on("SIGHUP", () => {
        try {
          const next = loadPolicy(file);
          const nextBp = busyPollProblem(next, netns);
          if (nextBp) throw new HostError(nextBp);
          if (netnsOf(next, o.netns) !== netns)
            throw new InputError(`${file}: netns changed: restart policy keep for another namespace`);
          keeper.reload(next);
        } catch (err) {
          write(`reload of ${file} refused, keeping the previous policy: ${(err as Error).message}`, {
            event: "reload-refused",
            error: (err as Error).message,
          });
        }
      });
      write(`keeping ${file}: ${p.rules.length} rule(s)${netns ? ` in network namespace '${netns}'` : ""}`, {
        event: "start",
      });
      keeper.start();
      // the watcher's poll runs on a koffi worker; this keeps the process alive between events
      setInterval(() => {}, 1 << 30);
    });
}
