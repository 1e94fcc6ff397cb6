/**
 * `napilab calibrate --from RESULT`: fit a model cost profile for this host from a bench result and
 * report how far the model is from the measurement on the same cells.
 */
import type { Command } from "@commander-js/extra-typings";
import { calibrate } from "../../bench/calibrate.js";
import { loadResult } from "../../bench/index.js";
import { InputError } from "../../core/errors.js";
import { formatDuration, formatRate, parseDuration } from "../../core/units.js";
import { printJson, renderTable } from "../output.js";

/** Simulated time per compared cell: a cell needs some datagrams to give a rate; a minute is plenty. */
const MIN_SIM_NS = 1_000_000;
const MAX_SIM_NS = 60_000_000_000;

export function registerCalibrate(program: Command): void {
  program
    .command("calibrate")
    .description(
      "fit a model profile for this host from a napilab bench result, and report the model's error",
    )
    .requiredOption("--from <RESULT>", "a result file saved by napilab bench (results/bench-*.json)")
    .option("--out <FILE>", "where to write the profile (default results/profile-<name>.json)")
    .option("--name <NAME>", "the profile's name (default host-<hostname>-<run id>)")
    .option("--sim-duration <TIME>", "simulated time per compared cell", "200ms")
    .option("--json", "print one JSON document: the fit, the profile path and the per-cell comparison")
    .addHelpText(
      "after",
      `
Fits, from the threaded cells with payloads up to 1472 bytes: the rx stack's cost per datagram (NAPI
kthread CPU time / datagrams reaching UDP, a + b*size) and the receivers' cost per datagram
(receiver CPU time / datagrams received, a + b*size). The profile extends 'default' and names, per
figure, where it came from. The model then runs every cell of the result on one CPU (the bench's
receiving CPU) at the measured offered rate; the error is (model - measured) / measured.

Examples:
  napilab bench --quick --out results/quick.json && napilab calibrate --from results/quick.json
  napilab sim flood --profile results/profile-host-x.json ...   # use the fitted profile
`,
    )
    .action((o) => {
      // every option is checked before the result is read and anything is fitted or written
      const simDurationNs = parseDuration(o.simDuration, "s", "--sim-duration");
      if (simDurationNs < MIN_SIM_NS || simDurationNs > MAX_SIM_NS)
        throw new InputError(
          `invalid --sim-duration '${o.simDuration}': ${formatDuration(MIN_SIM_NS)} to ${formatDuration(MAX_SIM_NS)} of simulated time per cell`,
        );
      const result = loadResult(o.from);
      const cal = calibrate(result, {
        from: o.from,
        simDurationNs,
        ...(o.out === undefined ? {} : { out: o.out }),
        ...(o.name === undefined ? {} : { name: o.name }),
      });
      if (o.json) return printJson(cal);
      const f = (x: number) => x.toFixed(1);
      process.stdout.write(
        `rx stack per datagram: ${f(cal.stack.fixedNs)} ns + ${cal.stack.perByteNs.toFixed(3)} ns/byte (${cal.stack.points} cells)\n` +
          `receiver per datagram: ${f(cal.receiver.fixedNs)} ns + ${cal.receiver.perByteNs.toFixed(3)} ns/byte (${cal.receiver.points} cells)\n`,
      );
      process.stdout.write(
        `${renderTable(
          ["MODE", "SIZE", "FLOWS", "MEASURED", "MODEL", "ERROR%", "NOTE"],
          cal.cells.map((c) => [
            c.mode,
            c.size,
            c.flows,
            `${formatRate(c.measuredPps)}pps`,
            `${formatRate(c.modelPps)}pps`,
            c.errorPct,
            c.disturbed ? "disturbed" : "",
          ]),
        )}\n`,
      );
      process.stdout.write(
        `model error over ${cal.summarisedCells} ${cal.summarisedCells < cal.cells.length ? "undisturbed " : ""}cells: ` +
          `|model - measured| / measured is ${cal.meanAbsErrorPct}% on average, ` +
          `${cal.medianAbsErrorPct}% median\n`,
      );
      if (cal.fitFromDisturbed)
        process.stdout.write(
          "warning: every usable cell was disturbed by other work on the host; the fit is too\n",
        );
      process.stdout.write(`profile '${cal.profileName}' written to ${cal.profilePath}\n`);
    });
}
