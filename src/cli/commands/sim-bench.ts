/**
 * `napilab sim bench`: the bench mirror. The same options as `napilab bench` (modes, sizes, flows,
 * rx/tx CPUs, batch, rate), simulated on the model of napilab bench's own path, one JSON cell per
 * bench cell with the bench's field names; `--from RESULT` re-simulates a bench result's cells.
 */
import type { Command } from "@commander-js/extra-typings";
import { loadResult } from "../../bench/index.js";
import { InputError } from "../../core/errors.js";
import {
  formatCpuList,
  formatRate,
  parseCpuList,
  parseDuration,
  parseInteger,
  parseList,
  parseRate,
  parseSize,
} from "../../core/units.js";
import { loadProfile } from "../../model/profile.js";
import {
  BENCH_HOST_MODES,
  type BenchHostMode,
  type BenchHostOptions,
  type SimCell,
  simulateBench,
  validateBenchHost,
} from "../../model/scenarios/bench-host.js";
import { printJson, renderTable, startProgress } from "../output.js";

function parseMode(text: string): BenchHostMode {
  const t = text.trim().toLowerCase();
  if ((BENCH_HOST_MODES as readonly string[]).includes(t)) return t as BenchHostMode;
  throw new InputError(`invalid --modes entry '${text}': use ${BENCH_HOST_MODES.join(", ")}`);
}

interface Measured {
  mode: string;
  size: number;
  flows: number;
  deliveredPps: number;
  offeredPps: number;
}

function table(cells: SimCell[], measured: Measured[] | null): string {
  const find = (c: SimCell) =>
    measured?.find((m) => m.mode === c.mode && m.size === c.size && m.flows === c.flows) ?? null;
  return renderTable(
    [
      "MODE",
      "SIZE",
      "FLOWS",
      "OFFERED",
      "DELIVERED",
      ...(measured ? ["MEASURED", "ERROR%"] : []),
      "DROPS ring/backlog/sock",
      "CPU(busy/softirq %)",
      "RECV%",
      "NAPI-KT%",
      "SEND%",
    ],
    cells.map((c) => {
      const m = find(c);
      return [
        c.mode,
        c.size,
        c.flows,
        `${formatRate(c.offeredPps)}pps`,
        `${formatRate(c.deliveredPps)}pps`,
        ...(measured
          ? [
              m ? `${formatRate(m.deliveredPps)}pps` : "-",
              m && m.deliveredPps > 0
                ? (((c.deliveredPps - m.deliveredPps) / m.deliveredPps) * 100).toFixed(1)
                : "-",
            ]
          : []),
        `${formatRate(c.drops.ring)}/${formatRate(c.drops.backlog)}/${formatRate(c.drops.socket)}`,
        c.perCpu.map((p) => `${p.cpu}:${Math.round(p.busyPct)}/${Math.round(p.softirqPct)}`).join(" "),
        Math.round(c.receivers.cpuPct),
        c.napiKthread ? Math.round(c.napiKthread.cpuPct) : "-",
        Math.round(c.sender.cpuPct),
      ];
    }),
  );
}

function parseKind(text: string): "blocking" | "nonblocking" {
  const t = text.trim().toLowerCase();
  if (t === "blocking" || t === "nonblocking") return t;
  throw new InputError(`invalid --receiver '${text}': use blocking or nonblocking`);
}

function parseSender(text: string): "packet" | "udp" {
  if (text === "packet" || text === "udp") return text;
  throw new InputError(`invalid --sender '${text}': use packet or udp`);
}

/** A bench result's receiver variant as the bench wrote it (describeReceiverVariant: kind+busy-read Nus+...). */
function parseVariant(text: string, from: string): BenchHostOptions["receiver"] {
  const [kind, ...rest] = text.split("+");
  const v: NonNullable<BenchHostOptions["receiver"]> = { kind: parseKind(kind ?? "") };
  for (const part of rest) {
    const busy = /^busy-read (\d+)us$/.exec(part);
    const budget = /^budget (\d+)$/.exec(part);
    if (busy) v.busyReadNs = Number(busy[1]) * 1000;
    else if (budget) v.busyPollBudget = Number(budget[1]);
    else
      throw new InputError(`'${from}': receiver variant '${text}': '${part}' is not mirrored by the model`);
  }
  return v;
}

export function registerSimBench(sim: Command): void {
  sim
    .command("bench")
    .description(
      "simulate napilab bench's own path (sender, veth, RPS, receivers) with bench's options: " +
        "per cell the offered and delivered rates, drops by place and the per-CPU split, in bench's JSON names",
    )
    .option(
      "--from <RESULT>",
      "re-simulate the cells of a bench result (its modes, sizes, flows, CPUs, batch, rate)",
    )
    .option("--modes <LIST>", `modes: ${BENCH_HOST_MODES.join(", ")}`, "softirq,threaded")
    .option("--sizes <LIST>", "UDP payload sizes in bytes", "64,512,1400")
    .option("--flows <LIST>", "flow counts, each flow to its own receiver", "1,16")
    .option("--rx-cpus <LIST>", "CPUs of the receivers (and of RPS / the NAPI kthread)", "1")
    .option("--tx-cpus <LIST>", "CPUs of the sender", "0")
    .option("--cpus <N>", "CPUs of the model host (default: the highest CPU named + 1)")
    .option("--batch <N>", "datagrams per sendmmsg call", "64")
    .option("--sender <KIND>", "the bench's generator: packet (AF_PACKET, its default) or udp", "packet")
    .option("--rate <PPS>", "offered load the sender paces to (default: flood)")
    .option("--duration <TIME>", "simulated time measured per cell, after a warm-up", "200ms")
    .option("--receiver <KIND>", "blocking (netserver's recv loop) or nonblocking (recv spinning on EAGAIN)")
    .option("--busy-read <TIME>", "SO_BUSY_POLL: the receivers busy poll the veth's NAPI this long")
    .option("--busy-poll-budget <N>", "SO_BUSY_POLL_BUDGET (default 8)")
    .option("--background <N>", "other work on the host: N always-runnable tasks per CPU", "0")
    .option("--profile <NAME>", "cost profile (name or path); needs the veth-host figures", "veth-host")
    .option("--seed <N>", "random seed", "1")
    .option("--json", 'print {"cells":[...]}, each cell in napilab bench\'s names')
    .addHelpText(
      "after",
      `
The bench's path as the model runs it: the sender task loops over sendmmsg on the tx CPU; each
datagram goes through veth_xmit into the receiving veth's ring of 256 (dropped when full). In
softirq mode the veth's NAPI runs in NET_RX on the sender's CPU (veth_xmit schedules it there),
does GRO, and RPS moves each packet to the rx CPU's backlog (netdev_max_backlog) with an IPI; the
rx CPU runs IP/UDP in process_backlog and the receivers. In threaded mode the NAPI kthread, pinned
to the rx CPUs, polls the ring. Nothing is fed a measured rate: the sender floods (or --rate).

Examples:
  napilab sim bench --modes softirq,threaded --sizes 64,512,1400 --flows 1,16
  napilab sim bench --from results/bench-....json --profile results/profile-....json
  napilab sim bench --modes threaded --sizes 64 --flows 1 --background 4 --json
`,
    )
    .action((o) => {
      const profile = loadProfile(o.profile);
      const result = o.from ? loadResult(o.from) : null;
      const receiver = result
        ? result.options.receiver
          ? parseVariant(result.options.receiver, o.from as string)
          : undefined
        : o.receiver || o.busyRead || o.busyPollBudget
          ? {
              kind: parseKind(o.receiver ?? "blocking"),
              busyReadNs: o.busyRead ? parseDuration(o.busyRead) : 0,
              ...(o.busyPollBudget
                ? { busyPollBudget: parseInteger(o.busyPollBudget, "--busy-poll-budget", 1, 65_535) }
                : {}),
            }
          : undefined;
      const modes = result
        ? [...new Set(result.cells.map((c) => c.mode))].filter((m) => m !== "busy-poll").map(parseMode)
        : parseList(o.modes, parseMode);
      const sizes = result ? [...new Set(result.cells.map((c) => c.size))] : parseList(o.sizes, parseSize);
      const flows = result
        ? [...new Set(result.cells.map((c) => c.flows))]
        : parseList(o.flows, (s) => parseInteger(s, "--flows", 1, 10_000));
      const rxCpus = parseCpuList(result ? result.options.rxCpus : o.rxCpus);
      const txCpus = parseCpuList(result ? result.options.txCpus : o.txCpus);
      const base: Omit<BenchHostOptions, "mode" | "size" | "flows"> = {
        profile,
        rxCpus,
        txCpus,
        batch: result ? result.options.batch : parseInteger(o.batch, "--batch", 1, 1024),
        generator: parseSender(result ? (result.options.sender ?? "udp") : o.sender),
        ratePps: result ? result.options.ratePps : o.rate ? parseRate(o.rate) : 0,
        durationNs: parseDuration(o.duration, "s"),
        background: parseInteger(o.background, "--background", 0, 64),
        seed: parseInteger(o.seed, "--seed", 0, 2 ** 32 - 1),
        ...(o.cpus ? { cpus: parseInteger(o.cpus, "--cpus", 1, 256) } : {}),
        ...(receiver ? { receiver } : {}),
      };
      // validate every cell before simulating any
      for (const mode of modes)
        for (const size of sizes)
          for (const fl of flows) validateBenchHost({ ...base, mode, size, flows: fl });
      const total = modes.length * sizes.length * flows.length;
      const progress = startProgress(total, "simulating");
      const cells = simulateBench({ modes, sizes, flows }, base, (i) => progress.tick(i, `${i}/${total}`));
      progress.stop();
      if (o.json) return printJson({ profile: profile.name, from: o.from ?? null, cells });
      process.stdout.write(
        `sim bench: receivers on CPU ${formatCpuList(rxCpus)}, sender on CPU ${formatCpuList(txCpus)}, ` +
          `profile ${profile.name}${base.background ? `, ${base.background} background task(s) per CPU` : ""}\n`,
      );
      process.stdout.write(`${table(cells, result ? result.cells : null)}\n`);
    });
}
