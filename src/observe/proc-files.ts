/**
 * Where the observe pillar reads /proc from, and how. The root is configurable so that a fixture
 * tree (a copy of real files, or the synthetic 64 NAPI x 64 CPU tree of `npm run bench:observe`)
 * can stand in for the host. Every read has a size limit: a file larger than that is not one we know.
 *
 * /proc files are generated anew on every read from offset 0 (seq_file), so a sampler that reads
 * the same files every second keeps them open and re-reads them with pread(2) at offset 0, as
 * top(1) does: one syscall per file instead of three.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** Larger than any file observe reads (softnet_stat of 8192 CPUs is ~1.2 MiB). */
export const MAX_PROC_FILE_BYTES = 4 * 1024 * 1024;
/** Open files kept at most; beyond that files are opened and closed per read. */
const MAX_CACHED_FDS = 512;

const chunk = Buffer.alloc(64 * 1024);

/**
 * Read a file from offset 0 to its end. `whole`: the file is produced in one piece (the kernel's
 * `single_open` files: /proc/<pid>/stat and schedstat, /proc/stat, /proc/softirqs), so a read that
 * returns less than asked for has reached the end and the final zero-length read is skipped.
 * Record-by-record files (softnet_stat, net/dev) may return short reads at page boundaries.
 */
function readAll(fd: number, path: string, limit: number, whole = false): string | undefined {
  // fill the shared buffer first (most files fit: no copy), spill to a list beyond it
  let filled = 0;
  let spill: Buffer[] | undefined;
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, chunk, filled, chunk.length - filled, total);
    } catch {
      return undefined; // ESRCH: the task went away after the file was opened
    }
    if (n === 0) break;
    const short = n < chunk.length - filled;
    filled += n;
    total += n;
    if (total > limit) throw new Error(`${path} is larger than ${limit} bytes`);
    if (filled === chunk.length) {
      spill ??= [];
      spill.push(Buffer.from(chunk));
      filled = 0;
    } else if (whole && short) break;
  }
  if (!spill) return chunk.toString("utf8", 0, filled);
  spill.push(Buffer.from(chunk.subarray(0, filled)));
  return Buffer.concat(spill).toString("utf8");
}

/** Read a whole file once (open, read, close); undefined when it does not exist. */
export function readProcText(path: string, limit = MAX_PROC_FILE_BYTES): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    return readAll(fd, path, limit);
  } finally {
    closeSync(fd);
  }
}

/** Files kept open between samples; `sweep` closes those the last sample did not read. */
export class ProcFiles {
  private readonly fds = new Map<string, { fd: number; used: boolean }>();

  /** The file's text, or undefined when it is gone; `whole` as in readAll. */
  read(path: string, whole = false): string | undefined {
    let e = this.fds.get(path);
    if (!e) {
      if (this.fds.size >= MAX_CACHED_FDS) return readProcText(path);
      try {
        e = { fd: openSync(path, "r"), used: true };
      } catch {
        return undefined;
      }
      this.fds.set(path, e);
    }
    e.used = true;
    const text = readAll(e.fd, path, MAX_PROC_FILE_BYTES, whole);
    if (text === undefined) this.drop(path);
    return text;
  }

  /** Whether `path` is kept open (read by the last sample and still there). */
  isOpen(path: string): boolean {
    return this.fds.has(path);
  }

  /** Close files not read since the previous sweep (their tasks are gone or no longer observed). */
  sweep(): void {
    for (const [path, e] of this.fds) {
      if (!e.used) this.drop(path);
      else e.used = false;
    }
  }

  private drop(path: string): void {
    const e = this.fds.get(path);
    if (!e) return;
    this.fds.delete(path);
    try {
      closeSync(e.fd);
    } catch {
      // already closed
    }
  }

  close(): void {
    for (const path of [...this.fds.keys()]) this.drop(path);
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
