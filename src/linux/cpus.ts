/**
 * CPU sets of the running host: which CPUs are online (/sys/devices/system/cpu/online, the
 * kernel's `cpu_online_mask`) and conversion between CPU lists and cpu_set_t bitmasks.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../core/errors.js";
import { formatCpuList, parseCpuList } from "../core/units.js";

/** Size of the cpu_set_t buffers napilab passes to sched_{set,get}affinity: 8192 CPUs. */
export const CPUSET_BYTES = 1024;

export function onlineCpus(): number[] {
  return parseCpuList(readFileSync("/sys/devices/system/cpu/online", "utf8"));
}

/** Reject a CPU list naming CPUs that are not online, with the online list in the message. */
export function checkCpusOnline(cpus: readonly number[]): void {
  if (cpus.length === 0) throw new InputError("empty CPU list");
  const online = new Set(onlineCpus());
  const bad = cpus.filter((c) => !online.has(c));
  if (bad.length > 0)
    throw new InputError(
      `CPU list names CPU ${formatCpuList(bad)}, which is offline or absent (online: ${formatCpuList([...online])})`,
    );
}

export function cpusToMask(cpus: readonly number[]): Buffer {
  const mask = Buffer.alloc(CPUSET_BYTES);
  for (const c of cpus) {
    const byte = c >> 3;
    if (byte >= CPUSET_BYTES) throw new InputError(`CPU ${c} is beyond ${CPUSET_BYTES * 8} CPUs`);
    mask[byte] = (mask[byte] as number) | (1 << (c & 7));
  }
  return mask;
}

export function maskToCpus(mask: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    const b = mask[i] as number;
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) out.push(i * 8 + bit);
  }
  return out;
}
