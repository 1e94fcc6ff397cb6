/**
 * `napilab sim compare` and the flood options of the modes family: one scenario in every way Linux
 * can run NAPI (softirq, threaded, threaded busy poll, threadirqs) times every receiver variant
 * (blocking, non-blocking, busy read, preferred busy polling with IRQ deferral, epoll with IRQ
 * suspension), as one table.
 */
import type { Command } from "@commander-js/extra-typings";
import { InputError } from "../../core/errors.js";
import {
  formatDuration,
  formatRate,
  parseCpuList,
  parseDuration,
  parseInteger,
  parseList,
  parseRate,
  parseSize,
} from "../../core/units.js";
import { RECEIVER_KINDS, type ReceiverKind } from "../../model/kernel/busypoll.js";
import { loadProfile, SOFTIRQ_POLICIES, type SoftirqPolicy } from "../../model/profile.js";
import {
  COMPARE_MODES,
  type CompareMode,
  type CompareRow,
  compareRuns,
  runCompareRow,
} from "../../model/scenarios/compare.js";
import type { FloodOptions, FloodResult } from "../../model/scenarios/flood.js";
import { printJson, renderTable, startProgress } from "../output.js";

interface ModesFlags {
  threadirqs?: boolean;
  receiver?: string;
  preferBusyPoll?: boolean;
  busyPollBudget?: string;
  deferHardIrqs?: string;
  groFlushTimeout?: string;
  irqSuspendTimeout?: string;
}

/** The modes-family flood options from the command line (only the ones given, so plain runs stay as before). */
export function parseModesOptions(o: ModesFlags): Partial<FloodOptions> {
  const r: Partial<FloodOptions> = {};
  if (o.threadirqs) r.threadirqs = true;
  if (o.receiver !== undefined) {
    const t = o.receiver.trim().toLowerCase();
    if (!(RECEIVER_KINDS as readonly string[]).includes(t))
      throw new InputError(`invalid --receiver '${o.receiver}': use ${RECEIVER_KINDS.join(", ")}`);
    r.receiver = t as ReceiverKind;
  }
  if (o.preferBusyPoll) r.preferBusyPoll = true;
  if (o.busyPollBudget !== undefined)
    r.busyPollBudget = parseInteger(o.busyPollBudget, "--busy-poll-budget", 1, 65_535);
  if (o.deferHardIrqs !== undefined)
    r.deferHardIrqs = parseInteger(o.deferHardIrqs, "--defer-hard-irqs", 0, 2 ** 31 - 1);
  if (o.groFlushTimeout !== undefined) r.groFlushTimeoutNs = parseDuration(o.groFlushTimeout, "ns");
  if (o.irqSuspendTimeout !== undefined) r.irqSuspendTimeoutNs = parseDuration(o.irqSuspendTimeout, "ns");
  return r;
}

/** One line about the modes-family configuration of a flood result. */
export function describeModes(r: FloodResult): string {
  const m = r.config.modes;
  if (!m) return "";
  const parts = [`receiver ${m.receiver}`];
  if (m.threadirqs) parts.push("threadirqs");
  if (m.busyReadNs) parts.push(`busy read ${formatDuration(m.busyReadNs)} (budget ${m.busyPollBudget})`);
  if (m.preferBusyPoll) parts.push("prefer busy poll");
  if (m.deferHardIrqs) parts.push(`defer_hard_irqs ${m.deferHardIrqs}`);
  if (m.groFlushTimeoutNs) parts.push(`gro_flush_timeout ${formatDuration(m.groFlushTimeoutNs)}`);
  if (m.irqSuspendTimeoutNs) parts.push(`irq_suspend_timeout ${formatDuration(m.irqSuspendTimeoutNs)}`);
  const fires = r.modes?.napiTimers.reduce((s, n) => s + n.timerFires, 0) ?? 0;
  const irqs = r.napis.reduce((s, n) => s + n.irqs, 0);
  return `modes: ${parts.join(", ")}; NIC IRQs ${irqs}, NAPI watchdog fires ${fires}`;
}

function pct0(x: number): string {
  return `${Math.round(x)}`;
}

/** Per-CPU split in one cell: where each CPU's time went, in percent (h/s/k/n/i/r/idle). */
function cpuCell(c: FloodResult["cpu"][number]): string {
  const parts = [`h${pct0(c.hardirq)}`, `s${pct0(c.softirq)}`];
  if (c.ksoftirqd >= 0.5) parts.push(`k${pct0(c.ksoftirqd)}`);
  if (c.napiThreads >= 0.5) parts.push(`n${pct0(c.napiThreads)}`);
  if ((c.irqThreads ?? 0) >= 0.5) parts.push(`i${pct0(c.irqThreads ?? 0)}`);
  parts.push(`r${pct0(c.receivers)}`);
  if (c.idle >= 0.5) parts.push(`idle${pct0(c.idle)}`);
  return parts.join(" ");
}

function us(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)}ms` : `${x.toFixed(1)}us`;
}

function printCompare(rows: CompareRow[], header: string): void {
  const out: string[] = [header];
  const ncpu = rows[0]?.cpu.length ?? 0;
  out.push(
    renderTable(
      ["mode", "receiver", "delivered", "ring drops", "socket drops", "p50", "p99", "p99.9"].concat(
        Array.from({ length: ncpu }, (_, i) => `CPU${i} %`),
      ),
      rows.map((r) =>
        [
          r.mode,
          r.receiver,
          formatRate(r.deliveredPps),
          formatRate(r.drops.ringPps),
          formatRate(r.drops.rcvbufPps),
          r.latency.samples ? us(r.latency.p50Us) : "-",
          r.latency.samples ? us(r.latency.p99Us) : "-",
          r.latency.samples ? us(r.latency.p999Us) : "-",
        ].concat(r.cpu.map(cpuCell)),
      ),
      ["left", "left", "right", "right", "right", "right", "right", "right"],
    ),
  );
  out.push(
    "CPU %: h hardirq, s softirq (also NET_RX run at a BH enable in a task), k ksoftirqd, n napi kthreads, i irq threads, r receivers",
  );
  process.stdout.write(`${out.join("\n")}\n`);
}

export function registerSimCompare(sim: Command): void {
  sim
    .command("compare")
    .description(
      "Run one flood scenario in every NAPI mode (softirq, threaded, threaded busy poll, threadirqs) " +
        "with every receiver variant that applies, and print them side by side.",
    )
    .option("--cpus <n>", "CPUs of the simulated host", "1")
    .option("--rate <pps>", "offered UDP datagrams per second (capped at line rate)", "1M")
    .option("--size <bytes>", "UDP payload size", "64")
    .option("--flows <n>", "parallel flows, each with its own socket and receiver", "1")
    .option("--duration <time>", "simulated time measured per run after a warm-up", "0.1")
    .option("--receiver-cpus <list>", "CPUs the receivers may run on (default: all)")
    .option("--napi-cpus <list>", "CPUs the NAPI kthreads may run on (default: all)")
    .option("--softirq-policy <policy>", `irq-exit softirq rule: ${SOFTIRQ_POLICIES.join(", ")}`)
    .option("--modes <list>", `modes to compare (default all: ${COMPARE_MODES.join(",")})`)
    .option("--busy-read <time>", "busy-poll time of the busy-polling receivers", "50us")
    .option("--defer-hard-irqs <n>", "napi_defer_hard_irqs of the deferring variants", "2")
    .option("--gro-flush-timeout <time>", "gro_flush_timeout of the deferring variants", "200us")
    .option("--irq-suspend-timeout <time>", "irq_suspend_timeout of the epoll variant", "20ms")
    .option("--profile <name>", "cost profile from profiles/ (or a path to a JSON file)", "default")
    .option("--seed <n>", "random seed", "1")
    .option("--json", "print one JSON document")
    .addHelpText(
      "after",
      `
Examples:
  napilab sim compare --cpus 1 --rate 2M               # one core shared by the NIC and the receiver
  napilab sim compare --cpus 2 --rate 2M               # two cores
  napilab sim compare --cpus 1 --rate 300k --modes softirq,threadirqs --json

Receiver variants: blocking recv(); nonblocking recv() spinning on EAGAIN; either with socket busy
polling (--busy-read, SO_BUSY_POLL); blocking with SO_PREFER_BUSY_POLL plus napi_defer_hard_irqs and
gro_flush_timeout; blocking with IRQ deferral only (no busy polling); epoll with busy poll,
prefer_busy_poll and irq_suspend_timeout. Under threaded busy poll (mode busy-poll) the kthread owns
the NAPI, so only the plain blocking and non-blocking receivers apply.
Columns: delivered datagrams/s, drops at the NIC ring and at the socket, wire-to-recv() latency
quantiles, per-CPU time split. --json: {"scenario": {...}, "rows": [...]}`,
    )
    .action((o) => {
      const profile = loadProfile(o.profile);
      const cpus = parseInteger(o.cpus, "--cpus", 1, 256);
      let policy: SoftirqPolicy | undefined;
      if (o.softirqPolicy !== undefined) {
        if (!(SOFTIRQ_POLICIES as readonly string[]).includes(o.softirqPolicy))
          throw new InputError(
            `invalid --softirq-policy '${o.softirqPolicy}': use ${SOFTIRQ_POLICIES.join(", ")}`,
          );
        policy = o.softirqPolicy as SoftirqPolicy;
      }
      const modes = o.modes
        ? parseList(o.modes, (t) => {
            const m = t.trim().toLowerCase();
            if (!(COMPARE_MODES as readonly string[]).includes(m))
              throw new InputError(`invalid --modes entry '${t}': use ${COMPARE_MODES.join(", ")}`);
            return m as CompareMode;
          })
        : COMPARE_MODES;
      const base: FloodOptions = {
        profile,
        cpus,
        mode: "softirq",
        ratePps: parseRate(o.rate),
        size: parseSize(o.size),
        flows: parseInteger(o.flows, "--flows", 1, 100_000),
        durationNs: parseDuration(o.duration, "s"),
        seed: parseInteger(o.seed, "--seed", 0, 2 ** 32 - 1),
        softirqPolicy: policy,
        receiverCpus: o.receiverCpus ? parseCpuList(o.receiverCpus) : null,
        napiCpus: o.napiCpus ? parseCpuList(o.napiCpus) : null,
      };
      const knobs = {
        busyReadNs: parseDuration(o.busyRead),
        deferHardIrqs: parseInteger(o.deferHardIrqs, "--defer-hard-irqs", 0, 2 ** 31 - 1),
        groFlushTimeoutNs: parseDuration(o.groFlushTimeout, "ns"),
        irqSuspendTimeoutNs: parseDuration(o.irqSuspendTimeout, "ns"),
      };
      if (knobs.busyReadNs <= 0) throw new InputError("--busy-read must be positive in a comparison");
      const runs = compareRuns(base, knobs, modes);
      const progress = startProgress(runs.length, "simulating");
      const rows: CompareRow[] = runs.map((run, i) => {
        const row = runCompareRow(run);
        progress.tick(i + 1, `${run.mode} ${run.variant.receiver}`);
        return row;
      });
      progress.stop();
      const scenario = {
        cpus,
        ratePps: base.ratePps,
        size: base.size,
        flows: base.flows,
        durationNs: base.durationNs,
        profile: profile.name,
        seed: base.seed,
        softirqPolicy: policy ?? profile.softirqPolicy,
        knobs,
      };
      if (o.json) {
        printJson({ scenario, rows });
        return;
      }
      printCompare(
        rows,
        `compare: ${cpus} CPU${cpus > 1 ? "s" : ""}, ${formatRate(base.ratePps)} offered, ${base.size}-byte UDP, ` +
          `${base.flows} flow${base.flows > 1 ? "s" : ""}, ${formatDuration(base.durationNs)} measured per run ` +
          `(profile ${profile.name}, softirq policy ${scenario.softirqPolicy}, seed ${base.seed}); busy read ` +
          `${formatDuration(knobs.busyReadNs)}, defer_hard_irqs ${knobs.deferHardIrqs}, gro_flush_timeout ` +
          `${formatDuration(knobs.groFlushTimeoutNs)}, irq_suspend_timeout ${formatDuration(knobs.irqSuspendTimeoutNs)}`,
      );
    });
}
