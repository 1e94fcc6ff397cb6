/** Saving and loading bench results: one JSON document per run, the input of `napilab calibrate`. */
import { closeSync, existsSync, mkdirSync, openSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { HostError, InputError } from "../core/errors.js";
import { readJsonFile } from "../core/files.js";
import { benchResultSchema, MAX_RESULT_BYTES } from "./result-schema.js";
import type { BenchResult } from "./run.js";

/** Default place of a result: results/bench-<UTC timestamp>.json under the working directory. */
export function defaultResultPath(startedAt: string): string {
  return resolve("results", `bench-${startedAt.replace(/[:.]/g, "-")}.json`);
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/** Create the missing directories of `dir` one level at a time (no recursive mkdir that may loop). */
function makeParents(dir: string, option: string, path: string): void {
  const missing: string[] = [];
  let d = dir;
  while (!existsSync(d)) {
    missing.unshift(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  if (existsSync(d) && !statSync(d).isDirectory())
    throw new InputError(`${option} '${path}': ${d} is not a directory`);
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (err) {
      throw new InputError(`${option} '${path}': cannot create directory ${m} (${code(err)})`);
    }
  }
}

/**
 * Check, before anything is measured, that a result can be written to `path`: its directory exists
 * or can be made, it is not a directory, and it can be opened for writing. Leaves no file behind.
 * Returns the absolute path.
 */
export function checkResultPath(path: string, option = "--out"): string {
  if (path.trim() === "") throw new InputError(`${option}: empty path`);
  const full = resolve(path);
  if (existsSync(full) && statSync(full).isDirectory())
    throw new InputError(
      `${option} '${path}' is a directory; give a file name, e.g. ${path.replace(/\/$/, "")}/bench.json`,
    );
  makeParents(dirname(full), option, path);
  const existed = existsSync(full);
  try {
    closeSync(openSync(full, "a"));
  } catch (err) {
    throw new InputError(`${option} '${path}': cannot write there (${code(err)})`);
  }
  if (!existed) unlinkSync(full);
  return full;
}

/** Write a result; a failure is one clear line (the caller has printed the figures already). */
export function saveResult(result: BenchResult, path: string): string {
  const full = resolve(path);
  try {
    makeParents(dirname(full), "result file", path);
    writeFileSync(full, `${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    if (err instanceof InputError) throw new HostError(`cannot save the result: ${err.message}`);
    throw new HostError(`cannot save the result to ${full}: ${code(err)}`);
  }
  return full;
}

/**
 * Read a saved result, validated by its schema with a size limit (result-schema.ts): any other
 * file gets one message naming the file and the JSON path at fault, never a crash.
 */
export function loadResult(path: string): BenchResult {
  return readJsonFile(path, benchResultSchema, "bench result", MAX_RESULT_BYTES) as unknown as BenchResult;
}
