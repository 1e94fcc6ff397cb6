/** Saving and loading bench results: one JSON document per run, the input of `napilab calibrate`. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InputError } from "../core/errors.js";
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

/** Read a saved result, checking it is one (a clear message instead of a crash on any other file). */
export function loadResult(path: string): BenchResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError(`cannot read bench result '${path}': ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InputError(`'${path}' is not JSON (expected a result saved by napilab bench)`);
  }
  const r = doc as Partial<BenchResult>;
  if (r?.tool !== "napilab bench" || !Array.isArray(r.cells))
    throw new InputError(`'${path}' is not a napilab bench result (no "tool": "napilab bench" and "cells")`);
  return r as BenchResult;
}
