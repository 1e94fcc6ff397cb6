/**
 * `napilab bench`: measure softirq against threaded NAPI on this host's kernel, on napilab's own
 * namespaces and veth pair. Thin layer over src/bench: parse options, run, print, save.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import {
  type BenchMode,
  type BenchResult,
  busyPollSupported,
  type Cell,
  cleanupLeftovers,
  defaultResultPath,
  MAX_UDP_PAYLOAD,
  parseBenchMode,
  RECEIVERS_PER_CPU,
  runBench,
  saveResult,
} from "../../bench/index.js";
import { type ReceiverVariant, receiverVariantFromFlags } from "../../bench/receiver-variant.js";
import {
  formatCpuList,
  formatDuration,
  formatRate,
  parseCpuList,
  parseDuration,
  parseInteger,
  parseList,
  parseRate,
  parseSize,
} from "../../core/units.js";
import { onlineCpus } from "../../linux/index.js";
import { printJson, renderTable, startProgress } from "../output.js";
import { registerCalibrate } from "./calibrate.js";

const FULL = { sizes: [1, 256, 4096, 64000], flows: [1, 25, 50, 100, 200] };
const QUICK = { modes: ["softirq", "threaded"] as BenchMode[], sizes: [256], flows: [1, 25] };

function dropsText(c: Cell): string {
  const d = c.drops;
  return `${formatRate(d.ring)}/${formatRate(d.backlog)}/${formatRate(d.socket)}/${formatRate(d.reassembly)}`;
}

function cellRows(cells: Cell[]): string {
  return renderTable(
    [
      "MODE",
      "SIZE",
      "FLOWS",
      "OFFERED",
      "DELIVERED",
      "DELIV%",
      "DROPS ring/backlog/sock/reasm",
      "SQUEEZE",
      "CPU(busy/softirq %)",
      "RECV%",
      "NAPI-KT%",
      "SEND%",
      "OTHER%",
    ],
    cells.map((c) => [
      c.mode,
      c.size,
      c.flows,
      `${formatRate(c.offeredPps)}pps`,
      `${formatRate(c.deliveredPps)}pps`,
      c.offeredPps > 0 ? `${Math.round((c.deliveredPps / c.offeredPps) * 100)}` : "-",
      dropsText(c),
      c.timeSqueeze,
      c.perCpu.map((p) => `${p.cpu}:${Math.round(p.busyPct)}/${Math.round(p.softirqPct)}`).join(" "),
      Math.round(c.receivers.cpuPct),
      c.napiKthread ? Math.round(c.napiKthread.cpuPct) : "-",
      Math.round(c.sender.cpuPct),
    ]),
    [
      "left",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "left",
      "right",
      "right",
      "right",
    ],
  );
}

function defaultCpus(): { rx: number[]; tx: number[] } {
  const online = onlineCpus();
  const first = online[0] ?? 0;
  const last = online[online.length - 1] ?? first;
  return { rx: [last], tx: [first] };
}

/** The receiver variant flags as a BenchOptions field (none given: netserver's blocking loop). */
function receiverOption(o: Parameters<typeof receiverVariantFromFlags>[0]): { receiver?: ReceiverVariant } {
  const v = receiverVariantFromFlags(o);
  return v ? { receiver: v } : {};
}

/** A note when busy polling was asked for but the datagrams came through no NAPI (SO_INCOMING_NAPI_ID 0). */
function noBusyPollNapi(result: BenchResult): string | undefined {
  if (!result.options.receiver?.includes("busy-read")) return undefined;
  const none = result.cells.filter((c) => c.receiverNapiIds?.every((id) => id === 0));
  if (none.length === 0) return undefined;
  return (
    `note: in ${none.length} of ${result.cells.length} cells the receivers' datagrams came through no NAPI ` +
    "(SO_INCOMING_NAPI_ID 0): socket busy polling had nothing to poll there"
  );
}

/** Registers `napilab bench` and its companion `napilab calibrate` (which reads bench results). */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "measure softirq against threaded NAPI on this host: UDP flood through napilab's own veth pair, " +
        "one receiver thread per flow, per cell the delivered rate, drops by place and the CPU split",
    )
    .option(
      "--modes <LIST>",
      "modes to compare: softirq, threaded, threaded-free, busy-poll (default: all the kernel has)",
    )
    .option(
      "--sizes <LIST>",
      `UDP payload sizes, 1..${MAX_UDP_PAYLOAD} bytes (default ${FULL.sizes.join(",")})`,
    )
    .option("--flows <LIST>", `flow counts, each flow to its own receiver (default ${FULL.flows.join(",")})`)
    .option("--duration <TIME>", "measurement window per cell (bare number = seconds)", "2s")
    .option("--warmup <TIME>", "traffic before the window opens, not counted", "500ms")
    .option("--rx-cpus <LIST>", "CPUs of the receivers and of rx processing (default: the last online CPU)")
    .option("--tx-cpus <LIST>", "CPUs of the sender (default: the first online CPU)")
    .option("--rate <PPS>", "offered load to pace the sender to, e.g. 200k (default: flood)")
    .option("--batch <N>", "datagrams per sendmmsg call", "64")
    .option("--receiver <KIND>", "receivers' recv loop: blocking (netserver's) or nonblocking (MSG_DONTWAIT)")
    .option("--busy-read <TIME>", "SO_BUSY_POLL on every receiver socket, e.g. 50us (bare number = us)")
    .option("--prefer-busy-poll", "SO_PREFER_BUSY_POLL on every receiver socket (with --busy-read)")
    .option("--busy-poll-budget <N>", "SO_BUSY_POLL_BUDGET (default: the kernel's, 8)")
    .option("--quick", "a small sweep in under a minute: softirq and threaded, 256 bytes, 1 and 25 flows")
    .option("--out <FILE>", "where to save the result (default results/bench-<time>.json)")
    .option("--no-save", "do not save a result file")
    .option("--cleanup", "remove what a crashed earlier run left behind (namespaces, veth), then exit")
    .option(
      "--json",
      'print one JSON document: {"cells":[{"mode","size","flows","offeredPps","deliveredPps",...}]}',
    )
    .addOption(new Option("--run-id-prefix <P>", "prefix of the run id (used by tests)").hideHelp())
    .addHelpText(
      "after",
      `
Topology: namespaces napilab-<run>-tx and napilab-<run>-rx, a veth pair (nl-tx 198.18.0.1/30,
nl-rx 198.18.0.2/30) with GRO on nl-rx so it has a NAPI instance. Everything is removed at the end,
on errors, on Ctrl-C and on SIGTERM; a run killed outright is recorded under /run/napilab/bench and
'napilab bench --cleanup' removes it. Nothing else on the host is touched.

Modes (set through napilab's own NAPI control, read back from the kernel for every cell):
  softirq        NAPI in softirq; RPS steers rx processing to the receivers' CPUs, where it
                 competes with the receivers (the vanilla case of the threaded-NAPI proposal)
  threaded       NAPI kthread pinned to the receivers' CPUs
  threaded-free  NAPI kthread allowed on every CPU (placed by the scheduler)
  busy-poll      threaded busy polling (kernels with napi-set threaded=busy-poll), pinned like threaded

Each cell floods for --warmup, then measures for --duration: offered and delivered packets/s,
drops at the veth ring, the backlog (netdev_max_backlog) and the socket buffers, time squeezes,
and per CPU the busy and softirq shares (/proc/stat) next to the receivers', the sender's and the
NAPI kthread's CPU time (schedstat). At most ${RECEIVERS_PER_CPU} receivers per receiver CPU. Needs root.

Examples:
  napilab bench --quick
  napilab bench --modes softirq,threaded --sizes 1,1438 --flows 1,25,100 --duration 3s
  napilab bench --quick --json > result.json
  napilab bench --cleanup
`,
    )
    .action(async (o) => {
      if (o.cleanup) {
        const r = cleanupLeftovers();
        if (o.json) return printJson(r);
        if (r.runs.length === 0) process.stdout.write("nothing to clean up\n");
        else
          process.stdout.write(
            `removed run(s) ${r.runs.join(", ")}: ${r.removed.join(", ") || "state only"}\n`,
          );
        if (r.skippedLive.length > 0)
          process.stdout.write(`left alone (still running): ${r.skippedLive.join(", ")}\n`);
        return;
      }
      const cpus = defaultCpus();
      const modes = o.modes
        ? parseList(o.modes, parseBenchMode)
        : o.quick
          ? QUICK.modes
          : (["softirq", "threaded", "threaded-free", "busy-poll"] as BenchMode[]).filter(
              (m) => m !== "busy-poll" || busyPollSupported(),
            );
      const opts = {
        modes: [...new Set(modes)],
        sizes: o.sizes ? parseList(o.sizes, parseSize) : o.quick ? QUICK.sizes : FULL.sizes,
        flows: o.flows
          ? parseList(o.flows, (s) => parseInteger(s, "flow count"))
          : o.quick
            ? QUICK.flows
            : FULL.flows,
        durationNs: parseDuration(o.duration, "s"),
        warmupNs: parseDuration(o.warmup, "s"),
        rxCpus: o.rxCpus ? parseCpuList(o.rxCpus) : cpus.rx,
        txCpus: o.txCpus ? parseCpuList(o.txCpus) : cpus.tx,
        ratePps: o.rate ? parseRate(o.rate) : 0,
        batch: parseInteger(o.batch, "batch", 1, 1024),
        ...(o.runIdPrefix === undefined ? {} : { runIdPrefix: o.runIdPrefix }),
        ...receiverOption(o),
      };
      const progress = startProgress(opts.modes.length * opts.sizes.length * opts.flows.length, "bench");
      let result: BenchResult;
      try {
        result = await runBench(opts, { onCell: (i, _total, label) => progress.tick(i, label) });
      } finally {
        progress.stop();
      }
      const path = o.save ? saveResult(result, o.out ?? defaultResultPath(result.startedAt)) : undefined;
      if (o.json) return printJson(path ? { ...result, savedTo: path } : result);
      process.stdout.write(
        `napilab bench on ${result.host.kernel}: receivers on CPU ${formatCpuList(opts.rxCpus)}, ` +
          `sender on CPU ${formatCpuList(opts.txCpus)}, ${formatDuration(opts.durationNs)} per cell\n`,
      );
      process.stdout.write(`${cellRows(result.cells)}\n`);
      process.stdout.write(
        "drops: ring = veth ptr_ring full, backlog = netdev_max_backlog, sock = socket buffer full, " +
          "reasm = datagrams lost in IP reassembly; " +
          "CPU n:busy/softirq from /proc/stat; RECV%/NAPI-KT%/SEND% = share of one CPU (schedstat), OTHER% = CPU time of the rx/tx CPUs used by other work\n",
      );
      const disturbed = result.cells.filter((c) => c.foreignPct >= 10);
      if (disturbed.length > 0)
        process.stdout.write(
          `warning: other work on this host used up to ${Math.round(Math.max(...disturbed.map((c) => c.foreignPct)))}% ` +
            `of a CPU in ${disturbed.length} of ${result.cells.length} cells (OTHER%); those figures are disturbed\n`,
        );
      if (result.host.irqTimeAccounting === false)
        process.stdout.write(
          "note: this kernel has no CONFIG_IRQ_TIME_ACCOUNTING, so softirq work done while a receiver or the " +
            "sender was running is counted in their share too\n",
        );
      const noNapi = noBusyPollNapi(result);
      if (noNapi) process.stdout.write(`${noNapi}\n`);
      if (path) process.stdout.write(`result saved to ${path}\n`);
    });
  registerCalibrate(program);
}
