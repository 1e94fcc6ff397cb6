/**
 * The schema of a saved bench result (results/bench-*.json), the one place that says what a reader
 * may rely on. Every reader of result files (napilab calibrate, reports) loads them through
 * loadResult, which validates with this schema. Objects are loose: fields a newer napilab adds pass
 * through untouched, but every field a reader uses is checked for type and range, so a string where
 * a number belongs, a negative count or a size no datagram can have is reported with its JSON path
 * instead of turning into a profile of zeros or an error about a flag nobody passed.
 */
import { z } from "zod";
import { MAX_PACKET_RATE } from "../core/units.js";
import { BENCH_MODES } from "./modes.js";

/** Largest UDP payload over IPv4 (65535 - 20 - 8), as in options.ts. */
const MAX_UDP_PAYLOAD = 65507;

const count = z.number().nonnegative();
const pct = z.number().nonnegative();

const taskTime = z.looseObject({ cpuPct: pct });

const cellSchema = z.looseObject({
  mode: z.enum(BENCH_MODES),
  size: z.number().int().min(1).max(MAX_UDP_PAYLOAD),
  flows: z.number().int().min(1).max(100_000),
  elapsedNs: z.number().positive(),
  received: count,
  offeredPps: count.max(MAX_PACKET_RATE),
  deliveredPps: count.max(MAX_PACKET_RATE),
  drops: z.looseObject({
    ring: count,
    backlog: count,
    socket: count,
    reassembly: count,
  }),
  timeSqueeze: count,
  foreignPct: pct.optional(),
  receivers: taskTime,
  sender: taskTime,
  napiKthread: taskTime.nullable(),
  perCpu: z.array(z.looseObject({ cpu: z.number().int().nonnegative(), busyPct: pct, softirqPct: pct })),
});

export const benchResultSchema = z.looseObject({
  tool: z.literal("napilab bench", {
    error: 'not a napilab bench result (expected "tool": "napilab bench")',
  }),
  version: z.literal(1),
  runId: z.string().min(1),
  startedAt: z.string(),
  host: z.looseObject({ kernel: z.string() }),
  cells: z.array(cellSchema),
});

/** Bench results napilab reads are at most this large (a full sweep is well under 1 MiB). */
export const MAX_RESULT_BYTES = 16 * 1024 * 1024;
