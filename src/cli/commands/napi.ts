/**
 * `napilab napi ...`: find the NAPI instances of a host, switch their threaded mode, pin and
 * prioritise their kthreads. Thin layer over src/linux: parse options, call, print.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { InputError } from "../../core/errors.js";
import {
  formatCpuList,
  formatDuration,
  parseCpuList,
  parseDuration,
  parseInteger,
} from "../../core/units.js";
import {
  KERNEL_THREADED_NAMES,
  type KernelThreaded,
  napiModeToKernel,
  parseNapiMode,
  parseSchedPolicyName,
  type SchedPolicy,
  validateSchedPolicy,
} from "../../core/vocabulary.js";
import {
  type KernelCaps,
  kernelCaps,
  listNapi,
  type NapiChange,
  type NapiInfo,
  parseNapiTarget,
  pinNapi,
  schedNapi,
  setThreaded,
} from "../../linux/index.js";
import { printJson, renderTable } from "../output.js";
import { applyIrqKnobs, IRQ_KNOB_HELP, irqKnobRows, parseIrqKnobFlags } from "./napi-irq.js";

const TARGET_HELP =
  "TARGET is DEV (every NAPI instance of the device) or DEV/NAPI_ID (one instance); several may be given.";
const NETNS_HELP = "the device lives in the named network namespace NAME (as in ip netns)";

export function formatPolicy(p: SchedPolicy | null): string {
  if (p === null) return "-";
  switch (p.policy) {
    case "other":
      return `other nice ${p.nice}`;
    case "fifo":
    case "rr":
      return `${p.policy} ${p.priority}`;
    case "deadline":
      return `deadline ${formatDuration(p.runtimeNs)}/${formatDuration(p.deadlineNs)}/${formatDuration(p.periodNs)}`;
  }
}

function cell(v: string | number | null | undefined): string {
  return v === null || v === undefined ? "-" : String(v);
}

function napiRows(list: NapiInfo[]): string {
  return renderTable(
    ["DEVICE", "IFINDEX", "NAPI", "RXQ", "IRQ", "MODE", "PID", "KTHREAD", "CPUS", "POLICY", "CPU-TIME"],
    list.map((n) => [
      n.ifname,
      n.ifindex,
      n.id,
      n.rxQueues?.length ? formatCpuList(n.rxQueues) : "-",
      cell(n.irq),
      n.threaded,
      cell(n.pid),
      cell(n.kthread),
      n.cpus ? formatCpuList(n.cpus) : "-",
      formatPolicy(n.policy),
      n.cpuTimeNs === null ? "-" : formatDuration(n.cpuTimeNs),
    ]),
    ["left", "right", "right", "right", "right", "left", "right", "left", "left", "left", "right"],
  );
}

function changeRows(changes: NapiChange[], what: (n: NapiInfo) => string): string {
  return renderTable(
    ["TARGET", "PID", "BEFORE", "AFTER (read back)"],
    changes.map((c) => [`${c.after.ifname}/${c.after.id}`, cell(c.after.pid), what(c.before), what(c.after)]),
    ["left", "right", "left", "left"],
  );
}

/**
 * Run a change with SIGINT/SIGTERM deferred: the change (and its rollback) is synchronous, so
 * a signal arriving meanwhile is acted on only after the host is in a consistent state.
 */
function deferSignals<T>(fn: () => T): T {
  let caught: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    caught = s;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return fn();
  } finally {
    // handlers run on the next turn of the event loop; exit then if a signal came in
    setImmediate(() => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (caught) process.exit(caught === "SIGINT" ? 130 : 143);
    });
  }
}

function targetsOf(list: string[]): string[] {
  for (const t of list) parseNapiTarget(t); // validate every target before touching anything
  return list;
}

function capsLines(c: KernelCaps): string[] {
  const yes = (b: boolean) => (b ? "yes" : "no");
  return [
    `kernel                ${c.kernel}`,
    `netdev netlink family ${yes(c.netdevFamily)}`,
    `napi-get (list)       ${yes(c.napiGet)}`,
    `napi-set              ${yes(c.napiSet)}`,
    `per-NAPI threaded     ${yes(c.napiSetThreaded)}`,
    `threaded busy-poll    ${yes(c.busyPoll)}`,
    `device control via    ${c.deviceControl}`,
  ];
}

function parseSched(o: {
  policy: string;
  nice?: string;
  prio?: string;
  runtime?: string;
  deadline?: string;
  period?: string;
}): SchedPolicy {
  const name = parseSchedPolicyName(o.policy);
  const only = (allowed: string[]) => {
    for (const k of ["nice", "prio", "runtime", "deadline", "period"] as const)
      if (o[k] !== undefined && !allowed.includes(k))
        throw new InputError(`--${k} does not apply to --policy ${name}`);
  };
  switch (name) {
    case "other":
      only(["nice"]);
      return validateSchedPolicy({ policy: "other", nice: parseInteger(o.nice ?? "0", "nice", -20, 19) });
    case "fifo":
    case "rr":
      only(["prio"]);
      if (o.prio === undefined) throw new InputError(`--policy ${name} needs --prio 1..99`);
      return validateSchedPolicy({ policy: name, priority: parseInteger(o.prio, "priority", 1, 99) });
    case "deadline": {
      only(["runtime", "deadline", "period"]);
      if (o.runtime === undefined) throw new InputError("--policy deadline needs --runtime (e.g. 200us)");
      const runtimeNs = parseDuration(o.runtime);
      const deadlineNs = o.deadline === undefined ? undefined : parseDuration(o.deadline);
      const periodNs = o.period === undefined ? deadlineNs : parseDuration(o.period);
      if (periodNs === undefined) throw new InputError("--policy deadline needs --period or --deadline");
      return validateSchedPolicy({
        policy: "deadline",
        runtimeNs,
        deadlineNs: deadlineNs ?? periodNs,
        periodNs,
      });
    }
  }
}

export function registerNapi(program: Command): void {
  const napi = program
    .command("napi")
    .description("find NAPI instances on this host, switch threaded mode, pin and prioritise their kthreads")
    .addHelpText(
      "after",
      "\nChanges need root (CAP_NET_ADMIN for set, CAP_SYS_NICE for pin and sched; CAP_SYS_ADMIN with --netns).\n" +
        "Every change validates all targets first, is read back from the kernel, and is undone for all\n" +
        "targets if one of them fails. Kthread settings are lost when the kernel recreates the NAPI\n" +
        "(link down/up, ethtool -L, driver reset).\n",
    );

  napi
    .command("list")
    .description(
      "one row per NAPI instance: device, ifindex, NAPI id, rx queues, irq, mode, kthread pid/name, CPUs, class, CPU time",
    )
    .option("--dev <DEV>", "only this device's instances")
    .option("--netns <NAME>", NETNS_HELP)
    .option(
      "--json",
      "print one JSON array of objects (ifname, ifindex, id, irq, threaded, pid, cpus, policy, ...)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  napilab napi list\n  napilab napi list --netns lab --dev vb --json\n\n" +
        "MODE is the kernel's name: disabled (softirq), enabled (kthread napi/<dev>-<id>), busy-poll.\n",
    )
    .action((o) => {
      const list = listNapi({ netns: o.netns, ifname: o.dev });
      if (o.json) return printJson(list);
      process.stdout.write(list.length === 0 ? "no NAPI instances\n" : `${napiRows(list)}\n`);
      for (const note of kernelCaps({ netns: o.netns }).notes) process.stdout.write(`note: ${note}\n`);
    });

  napi
    .command("caps")
    .description("what the running kernel supports: napi-get, per-NAPI threaded control, busy-poll")
    .option("--netns <NAME>", NETNS_HELP)
    .option("--json", "print one JSON object")
    .action((o) => {
      const c = kernelCaps({ netns: o.netns });
      if (o.json) return printJson(c);
      process.stdout.write(`${capsLines(c).join("\n")}\n`);
      for (const note of c.notes) process.stdout.write(`note: ${note}\n`);
    });

  napi
    .command("set")
    .description(
      "switch threaded mode: disabled (softirq), enabled (kthread) or busy-poll; or set the IRQ-deferral knobs",
    )
    .argument("<targets...>", TARGET_HELP)
    .addOption(new Option("--threaded <MODE>", "disabled|enabled|busy-poll (also softirq|threaded)"))
    .option("--defer-hard-irqs <N>", "napi_defer_hard_irqs (see IRQ deferral below)")
    .option("--gro-flush-timeout <T>", "gro_flush_timeout, e.g. 200us")
    .option("--irq-suspend-timeout <T>", "irq_suspend_timeout, e.g. 20ms (per NAPI, 6.13+)")
    .addOption(
      new Option("--via <HOW>", "netlink (per NAPI), sysfs (whole device, also NAPIs created later), auto")
        .choices(["auto", "netlink", "sysfs"] as const)
        .default("auto" as const),
    )
    .option("--netns <NAME>", NETNS_HELP)
    .option("--json", "print one JSON array of {before, after} per instance")
    .addHelpText(
      "after",
      "\nExamples:\n  napilab napi set eth0 --threaded enabled\n  napilab napi set eth0/8193 --threaded disabled\n" +
        "  napilab napi set vb --threaded enabled --netns lab --via sysfs\n" +
        IRQ_KNOB_HELP,
    )
    .action((targets, o) => {
      const knobs = parseIrqKnobFlags(o);
      if (o.threaded === undefined) {
        if (knobs === null)
          throw new InputError(
            "napi set needs --threaded or an IRQ knob (--defer-hard-irqs, --gro-flush-timeout, --irq-suspend-timeout)",
          );
        const changes = deferSignals(() => applyIrqKnobs(targetsOf(targets), knobs, o.netns));
        if (o.json) return printJson(changes);
        return void process.stdout.write(`${irqKnobRows(changes)}\n`);
      }
      if (knobs !== null)
        throw new InputError(
          "give --threaded and the IRQ knobs in two napi set calls (each is applied and read back on its own)",
        );
      const mode: KernelThreaded = (KERNEL_THREADED_NAMES as readonly string[]).includes(o.threaded)
        ? (o.threaded as KernelThreaded)
        : napiModeToKernel(parseNapiMode(o.threaded));
      const changes = deferSignals(() =>
        setThreaded(targetsOf(targets), mode, { netns: o.netns, via: o.via }),
      );
      if (o.json) return printJson(changes);
      process.stdout.write(
        `${changeRows(changes, (n) => `${n.threaded}${n.kthread ? ` (${n.kthread})` : ""}`)}\n`,
      );
    });

  napi
    .command("pin")
    .description("set the CPU affinity of NAPI kthreads (the instance must be threaded)")
    .argument("<targets...>", TARGET_HELP)
    .requiredOption("--cpus <LIST>", "CPU list in the kernel's format, e.g. 0-3,6; every CPU must be online")
    .option("--netns <NAME>", NETNS_HELP)
    .option("--json", "print one JSON array of {before, after} per instance")
    .addHelpText(
      "after",
      "\nExamples:\n  napilab napi pin eth0 --cpus 2-3\n  napilab napi pin eth0/8193 --cpus 1 --json\n",
    )
    .action((targets, o) => {
      const cpus = parseCpuList(o.cpus);
      const changes = deferSignals(() => pinNapi(targetsOf(targets), cpus, { netns: o.netns }));
      if (o.json) return printJson(changes);
      process.stdout.write(`${changeRows(changes, (n) => (n.cpus ? formatCpuList(n.cpus) : "-"))}\n`);
    });

  napi
    .command("sched")
    .description("set the scheduling class of NAPI kthreads: other (nice), fifo/rr (priority), deadline")
    .argument("<targets...>", TARGET_HELP)
    .requiredOption("--policy <POLICY>", "other|fifo|rr|deadline")
    .option("--nice <N>", "nice value -20..19 for --policy other (default 0)")
    .option("--prio <N>", "real-time priority 1..99 for fifo and rr")
    .option("--runtime <T>", "deadline: CPU time per period, e.g. 200us")
    .option("--deadline <T>", "deadline: relative deadline (default: the period)")
    .option("--period <T>", "deadline: period (default: the deadline)")
    .option("--netns <NAME>", NETNS_HELP)
    .option("--json", "print one JSON array of {before, after} per instance")
    .addHelpText(
      "after",
      "\nExamples:\n  napilab napi sched eth0 --policy fifo --prio 50\n  napilab napi sched eth0 --policy other --nice -5\n" +
        "  napilab napi sched eth0/8193 --policy deadline --runtime 200us --deadline 1ms --period 1ms\n\n" +
        "SCHED_DEADLINE needs the kthread's affinity to cover all CPUs, and the kernel refuses reservations\n" +
        "beyond the bandwidth left (kernel.sched_rt_runtime_us); both are reported and nothing is left half-set.\n",
    )
    .action((targets, o) => {
      const policy = parseSched(o);
      const changes = deferSignals(() => schedNapi(targetsOf(targets), policy, { netns: o.netns }));
      if (o.json) return printJson(changes);
      process.stdout.write(`${changeRows(changes, (n) => formatPolicy(n.policy))}\n`);
    });
}
