/**
 * A bench run end to end: build the topology, start the receivers, then for each cell
 * (mode x size x flows) set the mode up, flood, measure, and finally remove everything. The
 * topology is removed on every exit path: normal end, error, SIGINT and SIGTERM.
 */
import { release } from "node:os";
import { UserError } from "../core/errors.js";
import { formatCpuList } from "../core/units.js";
import { type CellMeasure, measure, type Probe, snapshot } from "./measure.js";
import { type BenchMode, type ModeSetup, setupMode } from "./modes.js";
import { type BenchOptions, checkHost, validateBenchOptions } from "./options.js";
import { fragmentsPerDatagram, packetSenderAvailable } from "./packet.js";
import { findKsoftirqd, irqTimeAccounting, onlineCpusText } from "./procfs.js";
import { describeReceiverVariant, probeReceiverVariant } from "./receiver-variant.js";
import {
  attachTxQdisc,
  createTopology,
  destroyRun,
  lockForRun,
  newRunId,
  readMacs,
  rebuildTopology,
  type Topology,
} from "./topology.js";
import { ThreadGroup } from "./traffic.js";
import type { SenderKind } from "./traffic-protocol.js";

/** First UDP port of the receivers; flow i goes to FIRST_PORT + i. */
const FIRST_PORT = 5001;

export interface Cell extends CellMeasure {
  mode: BenchMode;
  size: number;
  flows: number;
  setup: ModeSetup;
  senderErrors: number;
  /** How the traffic was made and paced. */
  generator: {
    kind: SenderKind;
    /** Frames per datagram at MTU 1500 (more than 1: IP fragments). */
    framesPerDatagram: number;
    /**
     * True for fragmented datagrams: the sender was held back by the full ring (qdisc + veth queue
     * stop, resent refused frames) instead of losing fragments, so every datagram left whole.
     */
    wholeDatagrams: boolean;
    /** Frames the device refused: resent when wholeDatagrams, dropped at the ring otherwise. */
    refusedFrames: number;
  };
  /** With a receiver variant: each receiver socket's SO_INCOMING_NAPI_ID (0: busy polling had no NAPI). */
  receiverNapiIds?: number[];
}

export interface BenchResult {
  tool: "napilab bench";
  version: 1;
  runId: string;
  startedAt: string;
  finishedAt: string;
  host: { kernel: string; onlineCpus: string; node: string; irqTimeAccounting: boolean | null };
  options: {
    modes: BenchMode[];
    sizes: number[];
    flows: number[];
    durationNs: number;
    warmupNs: number;
    rxCpus: string;
    txCpus: string;
    ratePps: number;
    batch: number;
    sender: SenderKind;
    /** The receiver variant, when not netserver's blocking recv (receiver-variant.ts). */
    receiver?: string;
  };
  topology: Topology;
  /** False when a signal ended the run early: `cells` holds the cells measured before it. */
  complete: boolean;
  /** The signal that ended the run, when one did. */
  interruptedBy: NodeJS.Signals | null;
  /** Why a cell failed and ended the run early, when one did (the cells before it are kept). */
  error: string | null;
  /** Cells planned (complete runs measured all of them). */
  plannedCells: number;
  /** What could not be removed at the end (kept on record for `napilab bench --cleanup`). */
  leftovers: string[];
  cells: Cell[];
}

export interface RunHooks {
  /** Called before each cell starts (index from 0) and once more at the end with index === total. */
  onCell?: (index: number, total: number, label: string) => void;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Thrown (by the CLI, after printing and saving what was measured) when a signal ended the run. */
export class RunAborted extends UserError {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals, measured: number, planned: number) {
    super(
      `bench interrupted by ${signal} after ${measured} of ${planned} cells; ` +
        "the cells measured were kept and everything the run created was removed",
      128 + (SIGNAL_NUMBERS[signal] ?? 15),
    );
    this.signal = signal;
  }
}

function sleep(ms: number, abort: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      abort.removeEventListener("abort", done);
      resolve();
    }
    abort.addEventListener("abort", done, { once: true });
  });
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * Run a whole sweep. Validates first; nothing is created on the host if validation fails. A signal
 * (SIGINT, SIGTERM, SIGHUP) ends the sweep early: the result then holds the cells measured so far
 * with `complete: false` and `interruptedBy`, after everything was removed.
 */
export async function runBench(opts: BenchOptions, hooks: RunHooks = {}): Promise<BenchResult> {
  validateBenchOptions(opts);
  // the packet generator where the kernel allows it, unless the caller chose
  const senderKind: SenderKind = opts.sender ?? (packetSenderAvailable() === true ? "packet" : "udp");
  checkHost(opts.modes, senderKind);
  const lock = lockForRun();

  const runId = newRunId(opts.runIdPrefix ?? "");
  const hostIrqAccounting = irqTimeAccounting();
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  let cleaned = false;
  const leftovers: string[] = [];
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    const r = destroyRun(runId);
    for (const f of r.failed) leftovers.push(`${f.name} (${f.why})`);
    // the lock goes last: until the namespaces are gone no other run may start
    lock.release();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      // a second signal: do not wait for the threads, remove the topology and leave now
      cleanup();
      process.exit(128 + (SIGNAL_NUMBERS[sig] ?? 15));
    }
    signalled = sig;
    controller.abort();
  };
  const onExit = () => cleanup();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  process.on("exit", onExit);

  const startedAt = new Date().toISOString();
  let receivers: ThreadGroup | undefined;
  let sender: ThreadGroup | undefined;
  try {
    const topo = createTopology(runId);
    if (opts.receiver) probeReceiverVariant(topo.rxNetns, opts.receiver); // detected, not assumed
    if (opts.receiver) probeReceiverVariant(topo.rxNetns, opts.receiver); // detected, not assumed
    const ksoftirqd = findKsoftirqd();
    const cpus = [...new Set([...opts.rxCpus, ...opts.txCpus])].sort((x, y) => x - y);

    const plan: { mode: BenchMode; size: number; flows: number }[] = [];
    for (const mode of opts.modes)
      for (const size of opts.sizes) for (const flows of opts.flows) plan.push({ mode, size, flows });

    const cells: Cell[] = [];
    let failedWith: string | null = null;
    const result = (): BenchResult => ({
      tool: "napilab bench",
      version: 1,
      runId,
      startedAt,
      finishedAt: new Date().toISOString(),
      host: {
        kernel: release(),
        onlineCpus: onlineCpusText(),
        node: process.version,
        irqTimeAccounting: hostIrqAccounting,
      },
      options: {
        modes: opts.modes,
        sizes: opts.sizes,
        flows: opts.flows,
        durationNs: opts.durationNs,
        warmupNs: opts.warmupNs,
        rxCpus: formatCpuList(opts.rxCpus),
        txCpus: formatCpuList(opts.txCpus),
        ratePps: opts.ratePps,
        batch: opts.batch,
        sender: senderKind,
        ...(opts.receiver ? { receiver: describeReceiverVariant(opts.receiver) } : {}),
      },
      topology: topo,
      complete: signalled === undefined && failedWith === null,
      interruptedBy: signalled ?? null,
      error: failedWith,
      plannedCells: plan.length,
      leftovers,
      cells,
    });
    for (const [i, c] of plan.entries()) {
      try {
        if (controller.signal.aborted) break;
        hooks.onCell?.(i, plan.length, `${c.mode} ${c.size}B ${c.flows}fl`);
        // each cell on a fresh veth pair and fresh namespaces: no state carried over from the cell before
        if (i > 0) rebuildTopology(runId);
        const ports = Array.from({ length: c.flows }, (_, f) => FIRST_PORT + f);
        receivers = await ThreadGroup.start(
          ports.map((port) => ({
            role: "receiver" as const,
            netns: topo.rxNetns,
            cpus: opts.rxCpus,
            address: topo.rxAddr,
            port,
            ...(opts.receiver ? { variant: opts.receiver } : {}),
          })),
        );
        const setup = setupMode(topo.rxNetns, topo.rxIfname, c.mode, opts.rxCpus);
        const framesPerDatagram = fragmentsPerDatagram(c.size);
        // fragments are held back at a full ring, not dropped: a lost fragment costs the whole
        // datagram and leaves a half-built one in the fragment memory for ipfrag_time
        const wholeDatagrams = framesPerDatagram > 1;
        if (wholeDatagrams) attachTxQdisc(runId);
        const macs = readMacs(runId);
        sender = await ThreadGroup.start([
          {
            role: "sender",
            netns: topo.txNetns,
            cpus: opts.txCpus,
            source: topo.txAddr,
            destination: topo.rxAddr,
            ports,
            size: c.size,
            batch: opts.batch,
            ratePps: opts.ratePps,
            generator: senderKind,
            ifname: topo.txIfname,
            srcMac: macs.tx,
            dstMac: macs.rx,
            wholeDatagrams,
          },
        ]);
        const rxTids = receivers.tids;
        const senderTid = sender.tids[0] as number;
        const probe: Probe = {
          rxNetDir: `/proc/${process.pid}/task/${rxTids[0]}/net`,
          txNetDir: `/proc/${process.pid}/task/${senderTid}/net`,
          rxIfname: topo.rxIfname,
          txIfname: topo.txIfname,
          ports: new Set(ports),
          receiverTids: rxTids,
          senderTid,
          napiPid: setup.kthreadPid,
          ksoftirqd,
          cpus,
        };
        const counts = () => [sum(sender?.packets() ?? []), sum(receivers?.packets() ?? [])] as const;
        await sleep(opts.warmupNs / 1e6, controller.signal);
        const a = snapshot(probe, counts);
        await sleep(opts.durationNs / 1e6, controller.signal);
        const b = snapshot(probe, counts);
        const senderErrors = sum(sender.errors());
        const refusedFrames = sum(sender.refused());
        const napiIds = opts.receiver ? { receiverNapiIds: receivers.napiIds() } : {};
        const failure = sender.failed ?? receivers.failed;
        await sender.stop();
        sender = undefined;
        await receivers.stop();
        receivers = undefined;
        if (controller.signal.aborted) break;
        if (failure) throw new UserError(failure);
        const m = measure(a, b, {
          rxCpus: opts.rxCpus,
          txCpus: opts.txCpus,
          napiCpus: setup.kthreadCpus,
          napiName: setup.kthreadName,
          napiPid: setup.kthreadPid,
          irqTimeAccounting: hostIrqAccounting,
        });
        cells.push({
          mode: c.mode,
          size: c.size,
          flows: c.flows,
          ...m,
          setup,
          senderErrors,
          generator: { kind: senderKind, framesPerDatagram, wholeDatagrams, refusedFrames },
          ...napiIds,
        });
      } catch (err) {
        // a cell that fails on the host ends the run, but the cells measured before it are kept
        if (!(err instanceof UserError) || cells.length === 0) throw err;
        failedWith = err.message;
        break;
      }
    }
    if (!signalled && failedWith === null) hooks.onCell?.(plan.length, plan.length, "done");
    return result();
  } finally {
    await sender?.terminate();
    await receivers?.stop();
    cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    process.off("exit", onExit);
  }
}
