/**
 * Reading the files napilab is given (bench results, profiles, policies): every reader goes through
 * here, so that each file is read with a size limit and validated by its zod schema, and every
 * failure is one InputError naming the file and, for a bad value, its JSON path.
 *
 * The size limit is enforced while reading, not only by stat: a character device such as /dev/zero
 * or a FIFO reports size 0, so the reader stops after `maxBytes + 1` bytes whatever stat said.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { z } from "zod";
import { InputError } from "./errors.js";

/** Files napilab reads are small; 16 MiB holds the largest bench result by a wide margin. */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} bytes`;
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    default:
      return e.code ?? String(err);
  }
}

/**
 * Read a whole file as UTF-8 text, refusing directories and anything longer than `maxBytes`.
 * `what` says what the file should be ("bench result"), for the message.
 */
export function readTextFile(path: string, what: string, maxBytes = DEFAULT_MAX_BYTES): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new InputError(`cannot read ${what} '${path}': ${errnoText(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputError(`cannot read ${what} '${path}': is a directory`);
    if (st.isFile() && st.size > maxBytes)
      throw new InputError(
        `${what} '${path}' is ${sizeText(st.size)}, larger than the ${sizeText(maxBytes)} napilab reads`,
      );
    // read in chunks up to one byte past the limit: devices and pipes do not tell their size
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.allocUnsafe(Math.min(maxBytes + 1, 1024 * 1024));
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk, 0, Math.min(chunk.length, maxBytes + 1 - total), null);
      } catch (err) {
        throw new InputError(`cannot read ${what} '${path}': ${errnoText(err)}`);
      }
      if (n === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, n)));
      total += n;
      if (total > maxBytes)
        throw new InputError(
          `${what} '${path}' is larger than the ${sizeText(maxBytes)} napilab reads (is it the right file?)`,
        );
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A JSON path as a reader would write it: `cells[3].drops.socket` ("(top level)" for the root). */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || "(top level)";
}

/** One line for the first problem zod found: where it is and what is wrong. */
export function describeSchemaError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "does not match its schema";
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : "";
  return `at ${jsonPath(issue.path)}: ${issue.message}${more}`;
}

/**
 * Read a JSON file, with the size limit, and validate it by `schema`. Every failure is an
 * InputError like `bench result 'r.json' is malformed at cells[0].size: Invalid input: expected
 * number, received string`.
 */
export function readJsonFile<S extends z.ZodType>(
  path: string,
  schema: S,
  what: string,
  maxBytes = DEFAULT_MAX_BYTES,
): z.output<S> {
  const text = readTextFile(path, what, maxBytes);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${what} '${path}' is not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success)
    throw new InputError(`${what} '${path}' is malformed ${describeSchemaError(parsed.error)}`);
  return parsed.data;
}
