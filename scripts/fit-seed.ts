/**
 * Fit a few physically meaningful cost figures of profiles/seed-experiment.json to the 60 cells of
 * the seed's table (../shared/seed/threaded-napi.md) by coordinate descent on the mean absolute
 * percentage error, then write the fitted figures back with the fit error. Rerunnable: it starts
 * from the profile's current values and keeps each figure's prior (value and reasoning).
 *
 *   npm run fit:seed            # fit and write the profile
 *   npm run fit:seed -- --dry   # fit and print, do not write
 *   npm run fit:seed -- --cv    # also leave-one-size-out cross-validation (fit on 3 sizes, predict the 4th)
 *   npm run fit:seed -- --cv-only --max-evaluations 3 --dry   # a quick check: no refit, short CV fits
 *   FIT_ROUNDS=3 FIT_STEPS=1.25,1.12,1.06 FIT_MAX_MINUTES=30 npm run fit:seed   # finer, time-boxed
 *
 * Only the sizes the seed lists (1, 256, 4096, 64000) are used; other sizes are predictions.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadProfile, PROFILES_DIR, type Profile } from "../src/model/profile.js";
import { reproduceTable } from "../src/model/scenarios/reproduce.js";
import { SEED_TABLE } from "../src/model/scenarios/seed-table.js";

/** The fitted figures: each bounded to [prior / 4, prior * 4] so it stays physically plausible. */
const PARAMS = [
  "senderPerFlowPps",
  "senderCpus",
  "guestPerFrameNs",
  "recvSyscallNs",
  "vhostPerFrameNs",
  "forwardNs",
  "contextSwitchNs",
  "wakeupNs",
] as const;
type Param = (typeof PARAMS)[number];

const dry = process.argv.includes("--dry");
/** Also run the leave-one-size-out cross-validation (four more fits). */
const cv = process.argv.includes("--cv") || process.argv.includes("--cv-only");
/** Skip the in-sample refit: take the profile's figures as they are, only cross-validate. */
const cvOnly = process.argv.includes("--cv-only");
/** Cap on evaluations per fit, for a quick check (each evaluation simulates the fitted cells). */
const maxEvaluations = Number(argValue("--max-evaluations") ?? process.env.FIT_MAX_EVALUATIONS ?? 1e9);
function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const rounds = Number(process.env.FIT_ROUNDS ?? 3);
const path = join(PROFILES_DIR, "seed-experiment.json");
const raw = JSON.parse(readFileSync(path, "utf8"));
raw.fit ??= {};
raw.fit.priors ??= {};
const priors: Record<string, { value: number; provenance: string }> = raw.fit.priors;
const base = loadProfile("seed-experiment");
for (const p of PARAMS) {
  if (!priors[p]) {
    const own = raw.figures[p] ?? { value: base.figures[p], provenance: base.provenance[p] };
    priors[p] = { value: own.value, provenance: own.provenance };
  }
}

const sizes = [...new Set(SEED_TABLE.map((r) => r.size))];

/**
 * A physical bound the fit must respect: one netperf flow offers at least what the seed saw
 * delivered from a single flow (otherwise the fit could "explain" low figures by a throttled
 * sender, which the seed's own 1-flow figures rule out).
 */
const minPerFlowPps =
  1000 *
  Math.max(
    ...SEED_TABLE.filter((r) => r.flows === 1 && r.size <= 256).map((r) =>
      Math.max(r.vanilla, r.guestThreaded, r.bothThreaded),
    ),
  );
const lowerBound = (p: Param, prior: number) =>
  p === "senderPerFlowPps" ? Math.max(prior / 4, minPerFlowPps) : prior / 4;
const flows = [...new Set(SEED_TABLE.map((r) => r.flows))];
let evaluations = 0;

async function evaluate(values: Record<Param, number>, onSizes: number[]) {
  const profile: Profile = { ...base, figures: { ...base.figures, ...values } };
  const r = await reproduceTable({ profile, sizes: onSizes, flows });
  evaluations++;
  return r.mape;
}

type Mape = Awaited<ReturnType<typeof evaluate>>;

/**
 * Coordinate descent from `start` on the seed cells of `fitSizes`: each figure in turn is
 * multiplied by the round's step (or divided), kept if the MAPE drops. Stops after `rounds`, the
 * time box, or `maxEvaluations` evaluations of this fit.
 */
async function fit(
  start: Record<Param, number>,
  fitSizes: number[],
  label: string,
  onBetter?: (values: Record<Param, number>, m: Mape) => void,
): Promise<{ values: Record<Param, number>; mape: Mape; evaluations: number }> {
  const values = { ...start };
  let used = 0;
  const evalOn = async (v: Record<Param, number>) => {
    used++;
    return evaluate(v, fitSizes);
  };
  let best = await evalOn(values);
  process.stdout.write(
    `${label} start: MAPE ${best.overall}% (vanilla ${best.vanilla}, guest ${best.guestThreaded}, both ${best.bothThreaded})\n`,
  );
  const steps = (process.env.FIT_STEPS ?? "2,1.4,1.15").split(",").map(Number);
  const deadline = Date.now() + Number(process.env.FIT_MAX_MINUTES ?? 60) * 60_000;
  const out = () => Date.now() > deadline || used >= maxEvaluations;
  for (let round = 0; round < rounds && !out(); round++) {
    const step = steps[Math.min(round, steps.length - 1)] as number;
    for (const p of PARAMS) {
      if (out()) break;
      const prior = priors[p]?.value as number;
      for (const factor of [step, 1 / step]) {
        if (out()) break;
        const v = Math.min(prior * 4, Math.max(lowerBound(p, prior), values[p] * factor));
        if (v === values[p]) continue;
        const trial = { ...values, [p]: p === "senderCpus" ? Math.max(1, Math.round(v)) : v };
        const m = await evalOn(trial);
        if ((m.overall ?? 1e9) < (best.overall ?? 1e9)) {
          best = m;
          Object.assign(values, trial);
          process.stdout.write(
            `  ${label} round ${round + 1}: ${p} -> ${trial[p].toPrecision(4)}: MAPE ${m.overall}%\n`,
          );
          onBetter?.(values, best);
          break;
        }
      }
    }
  }
  return { values, mape: best, evaluations: used };
}

const current = Object.fromEntries(
  PARAMS.map((p) => [p, Math.max(base.figures[p] as number, lowerBound(p, priors[p]?.value as number))]),
) as Record<Param, number>;
/**
 * Where the cross-validation fits start: the priors (bounded like the fit), not the fitted figures,
 * which have seen every size already.
 */
const priorValues = Object.fromEntries(
  PARAMS.map((p) => {
    const prior = priors[p]?.value as number;
    return [p, Math.max(prior, lowerBound(p, prior))];
  }),
) as Record<Param, number>;

let best: Mape;
if (cvOnly) {
  best = await evaluate(current, sizes);
  process.stdout.write(`in-sample (the profile as it is, no refit): MAPE ${best.overall}%\n`);
} else {
  const r = await fit(current, sizes, "in-sample", (v, m) => write(v, m)); // checkpoint: an interrupted fit keeps its best point
  Object.assign(current, r.values);
  best = r.mape;
  process.stdout.write(
    `fitted: MAPE ${best.overall}% (vanilla ${best.vanilla}%, guest threaded ${best.guestThreaded}%, both threaded ${best.bothThreaded}%) after ${r.evaluations} evaluations\n`,
  );
  for (const p of PARAMS)
    process.stdout.write(`  ${p}: ${priors[p]?.value} -> ${Number(current[p].toPrecision(4))}\n`);
  write(current, best);
  if (!dry) process.stdout.write(`wrote ${path}\n`);
}

if (cv) {
  // leave-one-size-out: fit on three of the seed's sizes from the priors, predict the fourth size's
  // cells with the figures that fit found; beside it, the same fit (same start, same budget) on all
  // four sizes, so the two MAPEs differ only in what the fit saw
  const same = await fit(priorValues, sizes, "in-sample from the priors");
  process.stdout.write(
    `in-sample from the priors, same budget: MAPE ${same.mape.overall}% after ${same.evaluations} evaluations\n`,
  );
  const folds: {
    heldOutSize: number;
    fitMapePercent: number | null;
    heldOutMapePercent: number | null;
    evaluations: number;
  }[] = [];
  for (const held of sizes) {
    const rest = sizes.filter((x) => x !== held);
    const r = await fit(priorValues, rest, `cv without ${held} B`);
    const pred = await evaluate(r.values, [held]);
    folds.push({
      heldOutSize: held,
      fitMapePercent: r.mape.overall,
      heldOutMapePercent: pred.overall,
      evaluations: r.evaluations,
    });
    process.stdout.write(
      `cv: held out ${held} B: fit MAPE ${r.mape.overall}%, predicted ${held} B cells MAPE ${pred.overall}%\n`,
    );
  }
  const vals = folds.map((f) => f.heldOutMapePercent).filter((x): x is number => x !== null);
  const cvMape = vals.length ? Math.round((vals.reduce((a, b) => a + b, 0) / vals.length) * 10) / 10 : null;
  process.stdout.write(
    `leave-one-size-out MAPE ${cvMape}% (mean over ${folds.length} held-out sizes) beside the in-sample MAPE ${same.mape.overall}% ` +
      `of the same fit on all sizes (the profile's own: ${best.overall}%)` +
      ` (at most ${maxEvaluations} evaluations per fit, ${rounds} round(s))\n`,
  );
  if (!dry) {
    raw.fit.crossValidation = {
      method:
        "leave one of the seed's sizes out, fit on the other three from the same start, predict the held-out size",
      maxEvaluationsPerFit: maxEvaluations,
      rounds,
      folds,
      mapePercent: cvMape,
      inSampleSameBudgetMapePercent: same.mape.overall,
    };
    writeFileSync(path, `${JSON.stringify(raw, null, 2)}\n`);
  }
}
function write(values: Record<Param, number>, mape: typeof best): void {
  if (dry) return;
  for (const p of PARAMS) {
    const prior = priors[p] as { value: number; provenance: string };
    raw.figures[p] = {
      value: Number(values[p].toPrecision(4)),
      provenance: `Fitted by scripts/fit-seed.ts to the seed's 60 cells (prior ${prior.value}: ${prior.provenance})`,
    };
  }
  raw.fit = {
    ...(raw.fit?.crossValidation ? { crossValidation: raw.fit.crossValidation } : {}),
    script: "scripts/fit-seed.ts",
    method: "coordinate descent on the mean absolute percentage error over the seed's 60 cells",
    params: [...PARAMS],
    mapePercent: mape,
    evaluations,
    priors,
  };
  writeFileSync(path, `${JSON.stringify(raw, null, 2)}\n`);
}
