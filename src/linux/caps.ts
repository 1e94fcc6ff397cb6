/**
 * Privilege checks before touching anything, so that a user without the right capability gets
 * one clear line instead of a half-applied change. Reads CapEff from /proc/self/status
 * (the kernel's `capable()` checks these bits: include/uapi/linux/capability.h).
 */
import { readFileSync } from "node:fs";
import { HostError } from "../core/errors.js";

export const CAPS = { CAP_SYS_ADMIN: 21, CAP_NET_ADMIN: 12, CAP_SYS_NICE: 23 } as const;
export type CapName = keyof typeof CAPS;

/** The effective capability set of this process. */
export function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function hasCap(cap: CapName): boolean {
  return (effectiveCaps() & (1n << BigInt(CAPS[cap]))) !== 0n;
}

/** Throw a HostError naming every missing capability, e.g. for `napi set` CAP_NET_ADMIN. */
export function requireCaps(caps: CapName[], what: string): void {
  const missing = caps.filter((c) => !hasCap(c));
  if (missing.length > 0) throw new HostError(`${what} needs ${missing.join(" and ")} (run napilab as root)`);
}
