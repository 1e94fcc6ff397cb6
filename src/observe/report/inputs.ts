/**
 * The results a report can be made from, as napilab writes them: `reproduce --json`, `sim flood
 * --json` (one run, or `{"sweep": [...]}`), a bench result file and `calibrate --json`. Each file
 * is read with a size limit, recognised by its shape and checked against a schema, so that a wrong
 * or damaged file gives one line naming the file and the field instead of a broken page.
 *
 * Only the fields the report draws are checked; other fields are allowed (newer napilab versions
 * may add some).
 */
import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { InputError } from "../../core/errors.js";

/** Largest result file read: a full bench sweep is well under 1 MiB; a 100k-flow sim is ~10 MiB. */
export const MAX_INPUT_BYTES = 32 * 1024 * 1024;

const num = z.number().finite();
const pct = num;
const configs = z.object({ vanilla: num, guestThreaded: num, bothThreaded: num });
const mapeValue = num.nullable();

export const reproduceSchema = z.object({
  profile: z.string(),
  rows: z
    .array(
      z.object({
        size: z.number().int().positive(),
        flows: z.number().int().positive(),
        vanilla: num,
        guestThreaded: num,
        bothThreaded: num,
        seed: configs.nullable().optional(),
        error: configs.nullable().optional(),
        offeredKpps: num.optional(),
      }),
    )
    .min(1),
  mape: z.object({
    overall: mapeValue,
    vanilla: mapeValue,
    guestThreaded: mapeValue,
    bothThreaded: mapeValue,
  }),
  cellsCompared: z.number().int().nonnegative().optional(),
  trend: z.array(z.object({ name: z.string(), holds: z.boolean(), detail: z.string() })).optional(),
});
export type ReproduceDoc = z.infer<typeof reproduceSchema>;

const cpuSplit = z.object({
  cpu: z.number().int().nonnegative(),
  hardirq: pct,
  softirq: pct,
  ksoftirqd: pct,
  napiThreads: pct,
  receivers: pct,
  hogs: pct.default(0),
  idle: pct,
});

export const floodSchema = z.object({
  config: z.object({
    cpus: z.number().int().positive(),
    mode: z.string(),
    ratePps: num,
    size: z.number().int().positive(),
    flows: z.number().int().positive(),
    durationNs: num,
    softirqPolicy: z.string().optional(),
    profile: z.string(),
    seed: z.number().int().optional(),
  }),
  offeredPps: num,
  deliveredPps: num,
  drops: z.object({ ringPps: num, rcvbufPps: num, totalPps: num.optional() }),
  cpu: z.array(cpuSplit).min(1),
  latency: z.object({
    p50Us: num,
    p99Us: num,
    samples: num,
    quantiles: z.array(z.object({ q: num.min(0).max(1), us: num.nonnegative() })).optional(),
  }),
});
export type FloodDoc = z.infer<typeof floodSchema>;

export const sweepSchema = z.object({ sweep: z.array(floodSchema).min(1) });
export type SweepDoc = z.infer<typeof sweepSchema>;

const benchCpu = z.object({
  cpu: z.number().int().nonnegative(),
  busyPct: pct,
  softirqPct: pct,
  irqPct: pct,
  receiversPct: pct,
  senderPct: pct,
  napiKthreadPct: pct,
  ksoftirqdPct: pct,
});

export const benchSchema = z.object({
  tool: z.literal("napilab bench"),
  version: z.number().int(),
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  host: z.object({ kernel: z.string(), onlineCpus: z.string().optional(), node: z.string().optional() }),
  options: z.object({
    durationNs: num,
    rxCpus: z.string(),
    txCpus: z.string(),
    ratePps: num.optional(),
  }),
  cells: z
    .array(
      z.object({
        mode: z.string(),
        size: z.number().int().positive(),
        flows: z.number().int().positive(),
        offeredPps: num,
        deliveredPps: num,
        drops: z.object({ ring: num, backlog: num, socket: num, reassembly: num }),
        perCpu: z.array(benchCpu),
        foreignPct: num.optional(),
      }),
    )
    .min(1),
});
export type BenchDoc = z.infer<typeof benchSchema>;

const linearFit = z.object({ fixedNs: num, perByteNs: num, points: z.number().int() });

export const calibrationSchema = z.object({
  profileName: z.string(),
  profilePath: z.string().optional(),
  stack: linearFit,
  receiver: linearFit,
  cells: z
    .array(
      z.object({
        mode: z.string(),
        size: z.number().int().positive(),
        flows: z.number().int().positive(),
        measuredPps: num,
        modelPps: num,
        errorPct: num,
        disturbed: z.boolean().default(false),
      }),
    )
    .min(1),
  fitFromDisturbed: z.boolean().optional(),
  summarisedCells: z.number().int().optional(),
  meanAbsErrorPct: num,
  medianAbsErrorPct: num.optional(),
});
export type CalibrationDoc = z.infer<typeof calibrationSchema>;

/** One input of a report: what it is, where it came from (a path or "this run"), its checked data. */
export type ReportInput =
  | { kind: "reproduce"; source: string; data: ReproduceDoc }
  | { kind: "flood"; source: string; data: FloodDoc }
  | { kind: "sweep"; source: string; data: SweepDoc }
  | { kind: "bench"; source: string; data: BenchDoc }
  | { kind: "calibration"; source: string; data: CalibrationDoc };
export type ReportKind = ReportInput["kind"];

/** What each kind is called in messages, with the command that writes it. */
export const KIND_NAMES: Record<ReportKind, string> = {
  reproduce: "napilab reproduce --json",
  flood: "napilab sim flood --json",
  sweep: "napilab sim flood --sweep ... --json",
  bench: "a napilab bench result file",
  calibration: "napilab calibrate --json",
};

/** Recognise a document by the keys only its kind has (before checking it in detail). */
function detectKind(doc: unknown): ReportKind | null {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return null;
  const d = doc as Record<string, unknown>;
  if (d.tool === "napilab bench") return "bench";
  if ("sweep" in d) return "sweep";
  if ("rows" in d && "mape" in d) return "reproduce";
  if ("profileName" in d && "cells" in d) return "calibration";
  if ("config" in d && "offeredPps" in d) return "flood";
  return null;
}

const SCHEMAS = {
  reproduce: reproduceSchema,
  flood: floodSchema,
  sweep: sweepSchema,
  bench: benchSchema,
  calibration: calibrationSchema,
} as const;

/** "rows[3].vanilla" from a zod issue path. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(top level)";
}

/** Check a parsed document and say what it is; throws InputError naming the source and the field. */
export function checkInput(doc: unknown, source: string): ReportInput {
  const kind = detectKind(doc);
  if (kind === null)
    throw new InputError(
      `${source} is not a napilab result: expected the JSON of reproduce, sim flood, bench or calibrate`,
    );
  const parsed = SCHEMAS[kind].safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? fieldPath(issue.path) : "(top level)";
    const what = issue ? issue.message.replace(/\s+/g, " ") : "invalid";
    throw new InputError(`${source} (${KIND_NAMES[kind]}): field ${where}: ${what}`);
  }
  return { kind, source, data: parsed.data } as ReportInput;
}

/** Read one result file: size limit, JSON, shape. */
export function readInput(path: string): ReportInput {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new InputError(`'${path}' is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (size > MAX_INPUT_BYTES)
    throw new InputError(
      `'${path}' is ${(size / 2 ** 20).toFixed(1)} MiB, more than the ${MAX_INPUT_BYTES / 2 ** 20} MiB a result can be`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    if (err instanceof SyntaxError) throw new InputError(`'${path}' is not JSON: ${err.message}`);
    throw new InputError(`cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return checkInput(doc, `'${path}'`);
}
