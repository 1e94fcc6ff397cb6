/**
 * `napilab sim ...`: run the model. `sim flood` is a user's first experiment: a UDP flood into a
 * host with N CPUs, in softirq, threaded or busy-poll NAPI mode, reporting what reaches the
 * receivers, where the rest is lost, and where the CPU time goes.
 */
import { type Command, Option } from "@commander-js/extra-typings";
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
import { NAPI_MODES, parseNapiMode } from "../../core/vocabulary.js";
import { FAIR_CLASSES, loadProfile, SOFTIRQ_POLICIES, type SoftirqPolicy } from "../../model/profile.js";
import { type FloodOptions, type FloodResult, runFlood, validateFlood } from "../../model/scenarios/flood.js";
import { printJson, renderTable, startProgress } from "../output.js";
import { checkHtmlPath, writeHtmlReport } from "./report.js";
import { registerSimBench } from "./sim-bench.js";
import { describeModes, parseModesOptions, registerSimCompare } from "./sim-compare.js";

/** Most flows one simulated flood takes (each is a socket and a receiver task in the model). */
export const MAX_FLOWS = 10_000;

function pct(x: number): string {
  return `${x.toFixed(1)}%`;
}

function oneOf<T extends string>(values: readonly T[], what: string) {
  return (text: string): T => {
    const t = text.trim().toLowerCase();
    if ((values as readonly string[]).includes(t)) return t as T;
    throw new InputError(`invalid ${what} '${text}': use ${values.join(", ")}`);
  };
}

function printFlood(r: FloodResult): void {
  const c = r.config;
  const out: string[] = [];
  out.push(
    `flood: ${c.cpus} CPU${c.cpus > 1 ? "s" : ""}, ${c.mode} NAPI${c.modes?.threadirqs ? " with threadirqs" : ""}, ${c.size}-byte UDP, ${c.flows} flow${c.flows > 1 ? "s" : ""}, ` +
      `${formatDuration(c.durationNs)} measured (profile ${c.profile}, softirq policy ${c.softirqPolicy}, seed ${c.seed})`,
  );
  const share = r.offeredPps > 0 ? (100 * r.deliveredPps) / r.offeredPps : 0;
  out.push(
    renderTable(
      ["", "per second"],
      [
        ["offered", `${formatRate(r.offeredPps)} datagrams`],
        ["delivered to receivers", `${formatRate(r.deliveredPps)} (${share.toFixed(1)}%)`],
        ["dropped at the NIC ring", formatRate(r.drops.ringPps)],
        ["dropped at sockets (rcvbuf)", formatRate(r.drops.rcvbufPps)],
      ],
      ["left", "right"],
    ),
  );
  out.push(
    `latency wire -> recv(): p50 ${formatDuration(r.latency.p50Us * 1000)}, p99 ${formatDuration(r.latency.p99Us * 1000)}` +
      (r.latency.p999Us !== undefined ? `, p99.9 ${formatDuration(r.latency.p999Us * 1000)}` : ""),
  );
  if (r.config.modes) out.push(describeModes(r));
  out.push("");
  out.push("CPU time split:");
  out.push(
    renderTable(
      ["CPU", "hardirq", "softirq", "ksoftirqd", "napi kthreads", "receivers", "hogs", "idle"].concat(
        r.config.modes?.threadirqs ? ["irq threads"] : [],
      ),
      r.cpu.map((x) =>
        [
          x.cpu,
          pct(x.hardirq),
          pct(x.softirq),
          pct(x.ksoftirqd),
          pct(x.napiThreads),
          pct(x.receivers),
          pct(x.hogs),
          pct(x.idle),
        ].concat(x.irqThreads !== undefined ? [pct(x.irqThreads)] : []),
      ),
    ),
  );
  out.push("");
  out.push("softnet (as /proc/net/softnet_stat; squeezes split by cause):");
  out.push(
    renderTable(
      ["CPU", "processed", "time_squeeze", "by budget", "by time"],
      r.softnet.map((s) => [s.cpu, s.processed, s.timeSqueeze, s.squeezeBudget, s.squeezeTime]),
    ),
  );
  process.stdout.write(`${out.join("\n")}\n`);
}

function printSweep(results: FloodResult[]): void {
  const peak = Math.max(...results.map((r) => r.deliveredPps), 1);
  const width = 40;
  process.stdout.write(
    `delivered vs offered (${results[0]?.config.mode} NAPI, ${results[0]?.config.cpus} CPU(s), ${results[0]?.config.flows} flow(s)):\n`,
  );
  process.stdout.write(
    `${renderTable(
      ["offered", "delivered", "ring drops", "socket drops", "softirq+ksoftirqd", ""],
      results.map((r) => [
        formatRate(r.offeredPps),
        formatRate(r.deliveredPps),
        formatRate(r.drops.ringPps),
        formatRate(r.drops.rcvbufPps),
        pct(r.cpu.reduce((s, c) => s + c.softirq + c.ksoftirqd, 0) / r.cpu.length),
        "#".repeat(Math.round((width * r.deliveredPps) / peak)),
      ]),
      ["right", "right", "right", "right", "right", "left"],
    )}\n`,
  );
}

export function registerSim(program: Command): void {
  const sim = program
    .command("sim")
    .description("simulate the Linux receive path (the model): softirq vs threaded vs busy-poll NAPI");

  sim
    .command("flood")
    .description(
      "Flood a simulated host with UDP and report what reaches the receivers, the drops by place, " +
        "the CPU time split (hardirq, softirq, ksoftirqd, NAPI kthreads, receivers) and latency.",
    )
    .option("--cpus <n>", "CPUs of the simulated host", "1")
    .addOption(
      new Option(
        "--mode <mode>",
        `where NAPI polls: ${NAPI_MODES.join(", ")}, or threadirqs (softirq NAPI, forced irq threads)`,
      ).default("softirq"),
    )
    .option(
      "--rate <pps>",
      "offered UDP datagrams per second, all flows together (capped at line rate)",
      "1M",
    )
    .option("--size <bytes>", "UDP payload size; above the MTU datagrams are sent as IP fragments", "64")
    .option("--flows <n>", "parallel flows, each with its own socket and netserver-like receiver", "1")
    .option("--duration <time>", "simulated time measured after a warm-up (seconds if no unit)", "0.2")
    .addOption(
      new Option(
        "--softirq-policy <policy>",
        "irq-exit softirq rule: pre-4.9, 4.9 (defer to ksoftirqd), 6.5",
      ).choices(SOFTIRQ_POLICIES),
    )
    .addOption(
      new Option("--fair-class <class>", "fair scheduler: eevdf (6.6+) or cfs").choices(FAIR_CLASSES),
    )
    .option("--receiver-cpus <list>", "CPUs the receivers may run on (default: all)")
    .option("--napi-cpus <list>", "CPUs the NAPI kthreads may run on (default: all)")
    .option("--queues <n>", "NIC rx queues (default: one per CPU, IRQ of queue i on CPU i)")
    .option(
      "--irq-cpus <list>",
      "IRQ affinity of the rx queues: queue i's interrupt goes to the i-th CPU of the list (cycled)",
    )
    .option(
      "--rps-cpus <list>",
      "RPS: steer each packet after GRO to these CPUs' backlogs, with an IPI (needs --profile veth-host)",
    )
    .option("--hogs <n>", "CPU-hog tasks competing for the CPUs", "0")
    .option("--busy-read <time>", "receivers busy poll their NAPI this long before sleeping (SO_BUSY_POLL)")
    .option("--threadirqs", "force irq threading (the threadirqs boot option) with any --mode")
    .option("--receiver <kind>", "blocking (recv), nonblocking (recv spinning on EAGAIN) or epoll")
    .option("--prefer-busy-poll", "SO_PREFER_BUSY_POLL: the busy poller takes the NAPI from the softirq")
    .option("--busy-poll-budget <n>", "SO_BUSY_POLL_BUDGET: packets per busy-poll round (default 8)")
    .option("--defer-hard-irqs <n>", "napi_defer_hard_irqs: empty polls before the IRQ is re-armed")
    .option("--gro-flush-timeout <time>", "gro_flush_timeout: watchdog delay while IRQs are deferred")
    .option("--irq-suspend-timeout <time>", "irq_suspend_timeout: watchdog delay while epoll suspends IRQs")
    .option(
      "--sweep <rates>",
      "run once per offered rate (e.g. 200k,500k,1M,2M) and print delivered vs offered",
    )
    .option("--profile <name>", "cost profile from profiles/ (or a path to a JSON file)", "default")
    .option("--seed <n>", "random seed (same seed and input give the same output)", "1")
    .option("--json", "print one JSON document")
    .option("--html <FILE>", "also write the report with charts to FILE (as napilab report does)")
    .addHelpText(
      "after",
      `
Examples:
  napilab sim flood --cpus 1 --mode softirq --rate 1.4M          # receive livelock on one CPU
  napilab sim flood --cpus 1 --mode threaded --rate 1.4M         # the scheduler shares the CPU
  napilab sim flood --mode softirq --sweep 200k,600k,1M,1.4M,2M  # the starvation curve
  napilab sim flood --cpus 2 --flows 25 --rate 2M --json

What it prints: offered and delivered datagrams per second, drops at the NIC ring and at the
sockets (like RcvbufErrors), wire-to-recv() latency, the per-CPU time split and softnet counters.
With --json one object with offeredPps, deliveredPps, drops, cpu, softnet, sockets, tasks, napis,
latency (with --sweep: {"sweep": [...]}); with any option of the modes family (threadirqs,
--receiver, --prefer-busy-poll, --defer-hard-irqs, ...) also config.modes, latency.p999Us and modes.

The modes family (see docs/model.md):
  napilab sim flood --mode threadirqs --rate 300k                # irq threads run NET_RX at BH enable
  napilab sim flood --receiver nonblocking --rate 300k           # recv() spinning on EAGAIN
  napilab sim flood --busy-read 50us --prefer-busy-poll --defer-hard-irqs 2 --gro-flush-timeout 200us
  napilab sim flood --receiver epoll --busy-read 50us --prefer-busy-poll --defer-hard-irqs 2 \
      --gro-flush-timeout 200us --irq-suspend-timeout 20ms       # epoll busy poll with IRQ suspension
  napilab sim compare --cpus 1 --rate 2M                         # all of them side by side`,
    )
    .action(async (o) => {
      if (o.html) checkHtmlPath(o.html);
      const profile = loadProfile(o.profile);
      const cpus = parseInteger(o.cpus, "--cpus", 1, 256);
      const base: FloodOptions = {
        profile,
        cpus,
        mode: o.mode.trim().toLowerCase() === "threadirqs" ? "softirq" : parseNapiMode(o.mode),
        ratePps: parseRate(o.rate, "--rate"),
        size: parseSize(o.size, "--size"),
        // each flow is a socket and a receiver task in the model: 10000 already take ~20 s
        flows: parseInteger(o.flows, "--flows", 1, MAX_FLOWS),
        durationNs: parseDuration(o.duration, "s", "--duration"),
        seed: parseInteger(o.seed, "--seed", 0, 2 ** 32 - 1),
        softirqPolicy: o.softirqPolicy as SoftirqPolicy | undefined,
        fairClass: o.fairClass ? oneOf(FAIR_CLASSES, "fair class")(o.fairClass) : undefined,
        receiverCpus: o.receiverCpus ? parseCpuList(o.receiverCpus, "--receiver-cpus") : null,
        napiCpus: o.napiCpus ? parseCpuList(o.napiCpus, "--napi-cpus") : null,
        queues: o.queues ? parseInteger(o.queues, "--queues", 1, 1024) : undefined,
        ...(o.irqCpus ? { irqCpus: parseCpuList(o.irqCpus) } : {}),
        ...(o.rpsCpus ? { rpsCpus: parseCpuList(o.rpsCpus) } : {}),
        hogs: parseInteger(o.hogs, "--hogs", 0, 1024),
        busyReadNs: o.busyRead ? parseDuration(o.busyRead, undefined, "--busy-read") : 0,
        ...parseModesOptions(o),
      };
      if (o.mode.trim().toLowerCase() === "threadirqs") base.threadirqs = true;
      const rates =
        o.sweep !== undefined
          ? parseList(o.sweep, (r) => parseRate(r, "--sweep rate"), "--sweep")
          : [base.ratePps];
      // validate every configuration before simulating any
      for (const ratePps of rates) validateFlood({ ...base, ratePps });
      // progress in simulated time, so that one long run (many flows, a long --duration) shows it too
      const progress = startProgress(rates.length * 100, "simulating", "percent");
      const results: FloodResult[] = [];
      rates.forEach((ratePps, i) => {
        const label = `${formatRate(ratePps)} pps`;
        const onProgress = (share: number) => progress.tick(Math.floor((i + share) * 100), label);
        results.push(runFlood({ ...base, ratePps, onProgress }));
      });
      progress.stop();
      if (o.html) await writeHtmlReport(o.html, [o.sweep ? { sweep: results } : results[0]], "this sim run");
      if (o.json) printJson(o.sweep ? { sweep: results } : results[0]);
      else if (o.sweep) printSweep(results);
      else printFlood(results[0] as FloodResult);
    });

  registerSimCompare(sim);
  registerSimBench(sim);
}
