/**
 * `napilab bench`: measure softirq against threaded NAPI on this host's kernel, on napilab's own
 * namespaces and veth pair. Thin layer over src/bench: parse options, run, print, save.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import {
  type BenchMode,
  type BenchResult,
  busyPollSupported,
  checkResultPath,
  cleanupLeftovers,
  defaultResultPath,
  MAX_UDP_PAYLOAD,
  parseBenchMode,
  RECEIVERS_PER_CPU,
  RunAborted,
  runBench,
  saveResult,
} from "../../bench/index.js";
import { type ReceiverVariant, receiverVariantFromFlags } from "../../bench/receiver-variant.js";
import { HostError } from "../../core/errors.js";
import {
  formatCpuList,
  formatDuration,
  parseCpuList,
  parseDuration,
  parseInteger,
  parseList,
  parseRate,
  parseSize,
} from "../../core/units.js";
import { onlineCpus } from "../../linux/index.js";
import { printJson, startProgress } from "../output.js";
import { cellTable, LEGEND, runNotes, wrap } from "./bench-table.js";
import { registerCalibrate } from "./calibrate.js";
import { checkHtmlPath, writeHtmlReport } from "./report.js";

const FULL = { sizes: [1, 256, 4096, 64000], flows: [1, 25, 50, 100, 200] };
const QUICK = { modes: ["softirq", "threaded"] as BenchMode[], sizes: [256], flows: [1, 25] };

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
    .addOption(
      new Option(
        "--sender <KIND>",
        "traffic generator: packet (AF_PACKET frames napilab builds, bypassing the qdisc) or udp " +
          "(a UDP socket through the kernel's stack) (default: packet where the kernel allows)",
      ).choices(["packet", "udp"] as const),
    )
    .option("--receiver <KIND>", "receivers' recv loop: blocking (netserver's) or nonblocking (MSG_DONTWAIT)")
    .option("--busy-read <TIME>", "SO_BUSY_POLL on every receiver socket, e.g. 50us (bare number = us)")
    .option("--prefer-busy-poll", "SO_PREFER_BUSY_POLL on every receiver socket (with --busy-read)")
    .option("--busy-poll-budget <N>", "SO_BUSY_POLL_BUDGET (default: the kernel's, 8)")
    .option("--quick", "a small sweep in under a minute: softirq and threaded, 256 bytes, 1 and 25 flows")
    .option("--out <FILE>", "where to save the result (default results/bench-<time>.json)")
    .option("--no-save", "do not save a result file")
    .option(
      "--cleanup",
      "remove what a crashed earlier run left behind (namespaces, veth, stale sysfs mounts, its record), then exit",
    )
    .option(
      "--json",
      'print one JSON document: {"cells":[{"mode","size","flows","offeredPps","deliveredPps",...}]}',
    )
    .option("--html <FILE>", "also write the report with charts to FILE (as napilab report does)")
    .addOption(new Option("--run-id-prefix <P>", "prefix of the run id (used by tests)").hideHelp())
    .addHelpText(
      "after",
      `
Topology: namespaces napilab-<run>-tx and napilab-<run>-rx, a veth pair (nl-tx 198.18.0.1/30,
nl-rx 198.18.0.2/30) with GRO on nl-rx so it has a NAPI instance. Everything is removed at the end,
on errors, on Ctrl-C and on SIGTERM (the cells measured so far are printed and saved, marked
incomplete, exit 130/143). Runs are recorded under /run/napilab/bench ($NAPILAB_STATE_DIR) and hold a
lock there, so two runs never overlap; a run killed outright leaves its record, and
'napilab bench --cleanup' removes its leftovers (keeping the record of anything it could not remove).
Nothing else on the host is touched; --out is checked before anything is measured.

Sender (--sender): packet (default where the kernel allows) builds Ethernet/IPv4/UDP frames itself
and sends them on an AF_PACKET socket with PACKET_QDISC_BYPASS; udp sends through a UDP socket and
the kernel's stack. Datagrams larger than the MTU (IP fragments) are held back while the veth ring
is full instead of losing fragments: a lost fragment costs its whole datagram.

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
  napilab bench --sender udp --sizes 1472,8000 --flows 1
  napilab bench --cleanup
`,
    )
    .action(async (o) => {
      if (o.cleanup) {
        const r = cleanupLeftovers();
        if (o.json) printJson(r);
        else {
          if (r.runs.length + r.mounts.length + r.failed.length + r.skippedLive.length === 0)
            process.stdout.write("nothing to clean up\n");
          if (r.runs.length > 0)
            process.stdout.write(
              `removed run(s) ${r.runs.join(", ")}: ${r.removed.join(", ") || "state only"}\n`,
            );
          if (r.mounts.length > 0)
            process.stdout.write(`removed stale sysfs mount(s): ${r.mounts.join(", ")}\n`);
          if (r.skippedLive.length > 0)
            process.stdout.write(`left alone (still running): ${r.skippedLive.join(", ")}\n`);
        }
        if (r.failed.length > 0)
          throw new HostError(
            `could not remove ${r.failed.map((f) => `${f.what} (${f.why})`).join(", ")}; ` +
              "their record is kept: run 'napilab bench --cleanup' again as root",
          );
        return;
      }
      if (o.html) checkHtmlPath(o.html);
      const cpus = defaultCpus();
      const modes =
        o.modes !== undefined
          ? parseList(o.modes, parseBenchMode, "--modes")
          : o.quick
            ? QUICK.modes
            : (["softirq", "threaded", "threaded-free", "busy-poll"] as BenchMode[]).filter(
                (m) => m !== "busy-poll" || busyPollSupported(),
              );
      const opts = {
        modes: [...new Set(modes)],
        sizes:
          o.sizes !== undefined
            ? parseList(o.sizes, (s) => parseSize(s, "--sizes item"), "--sizes")
            : o.quick
              ? QUICK.sizes
              : FULL.sizes,
        flows:
          o.flows !== undefined
            ? parseList(o.flows, (s) => parseInteger(s, "--flows item"), "--flows")
            : o.quick
              ? QUICK.flows
              : FULL.flows,
        durationNs: parseDuration(o.duration, "s"),
        warmupNs: parseDuration(o.warmup, "s"),
        rxCpus: o.rxCpus ? parseCpuList(o.rxCpus) : cpus.rx,
        txCpus: o.txCpus ? parseCpuList(o.txCpus) : cpus.tx,
        ratePps: o.rate !== undefined ? parseRate(o.rate, "--rate") : 0,
        batch: parseInteger(o.batch, "batch", 1, 1024),
        ...(o.sender === undefined ? {} : { sender: o.sender }),
        ...(o.runIdPrefix === undefined ? {} : { runIdPrefix: o.runIdPrefix }),
        ...receiverOption(o),
      };
      // a result must never be measured and then lost: check where it goes before measuring
      const outPath = o.save && o.out !== undefined ? checkResultPath(o.out) : undefined;
      const progress = startProgress(opts.modes.length * opts.sizes.length * opts.flows.length, "bench");
      let result: BenchResult;
      try {
        result = await runBench(opts, { onCell: (i, _total, label) => progress.tick(i, label) });
      } finally {
        progress.stop();
      }
      const target = o.save ? (outPath ?? defaultResultPath(result.startedAt)) : undefined;
      let path: string | undefined;
      let saveError: HostError | undefined;
      if (target)
        try {
          path = saveResult(result, target);
        } catch (err) {
          if (!(err instanceof HostError)) throw err;
          saveError = err;
        }
      if (o.html && result.cells.length > 0) await writeHtmlReport(o.html, [result], "this bench run");
      if (o.json) printJson(path ? { ...result, savedTo: path } : result);
      else {
        process.stdout.write(
          `napilab bench on ${result.host.kernel}: receivers on CPU ${formatCpuList(opts.rxCpus)}, ` +
            `sender on CPU ${formatCpuList(opts.txCpus)}, ${formatDuration(opts.durationNs)} per cell\n`,
        );
        process.stdout.write(`${cellTable(result.cells)}\n`);
        process.stdout.write(`${wrap(LEGEND)}\n`);
        for (const note of runNotes(result)) process.stdout.write(`${note}\n`);
        const noNapi = noBusyPollNapi(result);
        if (noNapi) process.stdout.write(`${noNapi}\n`);
        if (path) process.stdout.write(`result saved to ${path}${result.complete ? "" : " (incomplete)"}\n`);
      }
      if (saveError) throw saveError;
      if (result.error)
        throw new HostError(
          `${result.error} (in cell ${result.cells.length + 1} of ${result.plannedCells}; the cells before it were kept)`,
        );
      if (result.interruptedBy)
        throw new RunAborted(result.interruptedBy, result.cells.length, result.plannedCells);
    });
  registerCalibrate(program);
}
