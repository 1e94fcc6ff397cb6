/**
 * Where the observe pillar reads /proc from. The root is configurable so that a fixture tree (a
 * copy of real files, or the synthetic 64 NAPI x 64 CPU tree of `npm run bench:observe`) can stand
 * in for the host. Every read has a size limit: a /proc file larger than that is not one we know.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** Larger than any file observe reads (softnet_stat of 8192 CPUs is ~1.2 MiB). */
export const MAX_PROC_FILE_BYTES = 4 * 1024 * 1024;

const chunk = Buffer.alloc(64 * 1024);

/** Read a whole file as text, up to the limit; undefined when it does not exist (a task that exited). */
export function readProcText(path: string, limit = MAX_PROC_FILE_BYTES): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch {
        return undefined; // ESRCH: the task went away between open and read
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw new Error(`${path} is larger than ${limit} bytes`);
      parts.push(Buffer.from(chunk.subarray(0, n)));
    }
    return parts.length === 1 ? (parts[0] as Buffer).toString("utf8") : Buffer.concat(parts).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A /proc tree: the host's, or a fixture directory laid out the same way. */
export interface ProcTree {
  /** Directory standing for /proc. */
  root: string;
  /** Directory standing for /proc/net of the observed namespace (default `<root>/thread-self/net`). */
  netDir: string;
}

export function procTree(root = "/proc", netDir?: string): ProcTree {
  return { root, netDir: netDir ?? `${root}/thread-self/net` };
}
