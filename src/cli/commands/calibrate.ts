/**
 * `napilab calibrate --from RESULT`: fit this host's model profile from a bench result, on the
 * cells not held out, and predict the held-out cells from the model alone.
 */
import type { Command } from "@commander-js/extra-typings";
import { type CellComparison, calibrate } from "../../bench/calibrate.js";
import { loadResult } from "../../bench/index.js";
import { InputError } from "../../core/errors.js";
import { formatDuration, formatRate, parseDuration, parseInteger, parseList } from "../../core/units.js";
import { printJson, renderTable } from "../output.js";

/** Simulated time per compared cell: a cell needs some datagrams to give a rate; a minute is plenty. */
const MIN_SIM_NS = 1_000_000;
const MAX_SIM_NS = 60_000_000_000;

function rows(cells: CellComparison[]) {
  return cells.map((c) => [
    c.heldOut ? "held out" : "fit",
    c.mode,
    c.size,
    c.flows,
    `${formatRate(c.measuredOfferedPps)}/${formatRate(c.modelOfferedPps)}`,
    `${formatRate(c.measuredPps)}pps`,
    `${formatRate(c.modelPps)}pps`,
    c.errorPct,
    c.cpuSplitMaxPoints,
    c.disturbed ? "disturbed" : "",
  ]);
}

export function registerCalibrate(program: Command): void {
  program
    .command("calibrate")
    .description(
      "fit this host's model profile from a napilab bench result and predict held-out cells from the model alone",
    )
    .requiredOption("--from <RESULT>", "a result file saved by napilab bench (results/bench-*.json)")
    .option("--holdout-sizes <LIST>", "payload sizes to leave out of the fit and predict, e.g. 512")
    .option("--holdout-flows <LIST>", "flow counts to leave out of the fit and predict, e.g. 16")
    .option(
      "--background <N>",
      "other work in disturbed cells: N always-runnable tasks per CPU instead of the measured OTHER share replayed",
    )
    .option(
      "--max-evaluations <N>",
      "cap on the IPI-latency search's and the refinement's simulations of the fitted cells",
      "16",
    )
    .option("--out <FILE>", "where to write the profile (default results/profile-<name>.json)")
    .option("--name <NAME>", "the profile's name (default host-<hostname>-<run id>)")
    .option("--sim-duration <TIME>", "simulated time per cell", "100ms")
    .option("--json", 'print one JSON document: {"fit":{...},"holdout":{...},"profilePath",...}')
    .addHelpText(
      "after",
      `
The model is napilab bench's own path (the bench mirror, napilab sim bench): the sendmmsg sender
(AF_PACKET or UDP) on the tx CPU, the veth pair (ring of 256, its NAPI in softirq on the sender's
CPU with RPS to the rx CPU, or in its kthread), the receivers in the bench's autogroup, skbs freed
back on the sender's CPU. The fit, on the cells not held out, each figure bounded to
[prior/4, prior*4] of the 'veth-host-prior' profile:
  1. stage costs from CPU time per datagram (schedstat run time / datagrams, a + b*size): the
     sender (cells with the fewest flows), the NAPI kthread (veth_poll + GRO + IP + UDP), the
     receivers, and from softirq cells the RPS enqueue and the backlog hand-off;
  2. the RPS IPI's delivery latency, searched so the model's backlog kicks per datagram match the
     bench's received_rps; cells the bench saw disturbed (OTHER% >= 10) get the other work it
     measured on each CPU replayed;
  3. the deferred-free cost, the RPS enqueue and the backlog hand-off refined by a coordinate
     search on the undisturbed fitted cells' delivered-pps MAPE + CPU split error.
Then every cell is simulated from the profile alone: the model's sender floods, the measured
offered rates are not used. Errors: (model - measured) / measured delivered pps, MAPE per set, and
the CPU split (softirq, hardirq, sender, receivers, NAPI kthread, ksoftirqd per CPU) in points,
also without the tick-sampled softirq/hardirq shares of a host without IRQ time accounting
("timed"). 'npm run fit:veth-host' refits the shipped veth-host profile.

Examples:
  napilab bench --modes softirq,threaded --sizes 64,512,1400 --flows 1,16 --duration 2s
  napilab calibrate --from results/bench-....json --holdout-sizes 512 --json
  napilab sim bench --from results/bench-....json --profile results/profile-....json
`,
    )
    .action((o) => {
      // every option is checked before the result is read and anything is fitted or written
      const simDurationNs = parseDuration(o.simDuration, "s", "--sim-duration");
      if (simDurationNs < MIN_SIM_NS || simDurationNs > MAX_SIM_NS)
        throw new InputError(
          `invalid --sim-duration '${o.simDuration}': ${formatDuration(MIN_SIM_NS)} to ${formatDuration(MAX_SIM_NS)} of simulated time per cell`,
        );
      const sizes = o.holdoutSizes
        ? parseList(
            o.holdoutSizes,
            (s) => parseInteger(s, "--holdout-sizes item", 1, 65_507),
            "--holdout-sizes",
          )
        : [];
      const flows = o.holdoutFlows
        ? parseList(
            o.holdoutFlows,
            (s) => parseInteger(s, "--holdout-flows item", 1, 100_000),
            "--holdout-flows",
          )
        : [];
      const maxEvaluations = parseInteger(o.maxEvaluations, "--max-evaluations", 1, 1000);
      const background =
        o.background === undefined ? {} : { background: parseInteger(o.background, "--background", 0, 64) };
      const result = loadResult(o.from);
      const cal = calibrate(result, {
        from: o.from,
        simDurationNs,
        holdoutSizes: sizes,
        holdoutFlows: flows,
        maxEvaluations,
        ...background,
        ...(o.out === undefined ? {} : { out: o.out }),
        ...(o.name === undefined ? {} : { name: o.name }),
        // progress on stderr: always on a terminal, and without --json
        ...(o.json && !process.stderr.isTTY
          ? {}
          : { onProgress: (w: string) => process.stderr.write(`calibrate: ${w}\n`) }),
      });
      if (o.json) return printJson(cal);
      const f = (x: number) => x.toFixed(1);
      process.stdout.write(
        `sender per datagram:   ${f(cal.sender.fixedNs)} ns + ${cal.sender.perByteNs.toFixed(3)} ns/byte (${cal.sender.points} cells)\n` +
          `NAPI kthread per dgram: ${f(cal.stack.fixedNs)} ns + ${cal.stack.perByteNs.toFixed(3)} ns/byte (${cal.stack.points} cells)\n` +
          `receiver per datagram: ${f(cal.receiver.fixedNs)} ns + ${cal.receiver.perByteNs.toFixed(3)} ns/byte (${cal.receiver.points} cells)\n` +
          `other work in disturbed cells: ${cal.otherWork === "measured" ? "the measured share replayed per CPU" : `${cal.background.tasksPerCpu} always-runnable task(s) per CPU`}\n`,
      );
      const bounded = Object.entries(cal.figures).filter(([, v]) => v.bounded);
      if (bounded.length > 0)
        process.stdout.write(
          `held at a prior's bound: ${bounded.map(([k, v]) => `${k} (wanted ${v.raw}, got ${v.value})`).join(", ")}\n`,
        );
      process.stdout.write(
        `${renderTable(
          [
            "SET",
            "MODE",
            "SIZE",
            "FLOWS",
            "OFFERED meas/model",
            "MEASURED",
            "MODEL",
            "ERROR%",
            "CPU pts",
            "NOTE",
          ],
          rows(cal.cells),
        )}\n`,
      );
      process.stdout.write(
        `fit (${cal.fit.cells.length} cells): MAPE ${cal.fit.mapePercent}%, CPU split ${cal.fit.cpuSplitMeanPoints} points mean, ${cal.fit.cpuSplitMaxPoints} max (timed parts ${cal.fit.cpuSplitTimedMeanPoints} / ${cal.fit.cpuSplitTimedMaxPoints})\n`,
      );
      if (cal.holdout.cells.length > 0)
        process.stdout.write(
          `held out (${cal.holdout.cells.length} cells, predicted by the model alone): MAPE ${cal.holdout.mapePercent}%, ` +
            `CPU split ${cal.holdout.cpuSplitMeanPoints} points mean, ${cal.holdout.cpuSplitMaxPoints} max (timed parts ${cal.holdout.cpuSplitTimedMeanPoints} / ${cal.holdout.cpuSplitTimedMaxPoints})\n`,
        );
      if (cal.cells.some((c) => c.disturbed))
        process.stdout.write(
          "note: other work used the host's CPUs during some cells (OTHER% >= 10, marked disturbed); the model replays it\n",
        );
      process.stdout.write(`profile '${cal.profileName}' written to ${cal.profilePath}\n`);
    });
}
