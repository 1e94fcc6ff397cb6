/** Saving and loading bench results: one JSON document per run, the input of `napilab calibrate`. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { readJsonFile } from "../core/files.js";
import { benchResultSchema, MAX_RESULT_BYTES } from "./result-schema.js";
import type { BenchResult } from "./run.js";

/** Default place of a result: results/bench-<UTC timestamp>.json under the working directory. */
export function defaultResultPath(startedAt: string): string {
  return resolve("results", `bench-${startedAt.replace(/[:.]/g, "-")}.json`);
}

export function saveResult(result: BenchResult, path: string): string {
  const full = resolve(path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, `${JSON.stringify(result, null, 2)}\n`);
  return full;
}

/**
 * Read a saved result, validated by its schema with a size limit (result-schema.ts): any other
 * file gets one message naming the file and the JSON path at fault, never a crash.
 */
export function loadResult(path: string): BenchResult {
  return readJsonFile(path, benchResultSchema, "bench result", MAX_RESULT_BYTES) as unknown as BenchResult;
}
