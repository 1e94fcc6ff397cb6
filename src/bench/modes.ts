/**
 * Putting the receiving veth into one of the bench's modes, through napilab's own control code
 * (src/linux), and reading the result back from the kernel so a cell records what really ran.
 *
 * - softirq: NAPI in softirq context (threaded disabled) and RPS steering the stack's work onto the
 *   receivers' CPUs, so that softirq processing competes with the receivers there.
 * - threaded: NAPI kthread (napi/<dev>-<id>) pinned to the receivers' CPUs, no RPS.
 * - threaded-free: NAPI kthread allowed on every online CPU (the scheduler places it), no RPS.
 * - busy-poll: the kthread busy polls (threaded = busy-poll, kernel `napi_threaded_poll_loop`
 *   with busy polling), pinned to the receivers' CPUs, no RPS.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { HostError, InputError } from "../core/errors.js";
import { formatCpuList } from "../core/units.js";
import {
  kernelCaps,
  listNapi,
  type NapiInfo,
  onlineCpus,
  pinNapi,
  setThreaded,
  withSysfs,
} from "../linux/index.js";

export const BENCH_MODES = ["softirq", "threaded", "threaded-free", "busy-poll"] as const;
export type BenchMode = (typeof BENCH_MODES)[number];

export function parseBenchMode(text: string): BenchMode {
  const t = text.trim().toLowerCase();
  if ((BENCH_MODES as readonly string[]).includes(t)) return t as BenchMode;
  throw new InputError(`invalid bench mode '${text}': use ${BENCH_MODES.join(", ")}`);
}

/** What a mode set-up left in the kernel, as read back. */
export interface ModeSetup {
  mode: BenchMode;
  /** The NAPI instance's threaded attribute as the kernel reports it. */
  threaded: string;
  napiId: number;
  /** The NAPI kthread, when the mode has one. */
  kthreadPid: number | null;
  kthreadName: string | null;
  kthreadCpus: number[] | null;
  /** rx-0's RPS CPU set (get_rps_cpu steering; empty = none). */
  rpsCpus: number[];
}

/** Whether the kernel accepts threaded busy-poll (netdev napi-set threaded=busy-poll). */
export function busyPollSupported(): boolean {
  try {
    return kernelCaps().busyPoll;
  } catch {
    return false;
  }
}

/** Hex mask for /sys/class/net/<dev>/queues/rx-<n>/rps_cpus (kernel `store_rps_map`, bitmap_parse). */
export function cpuMaskHex(cpus: readonly number[]): string {
  let mask = 0n;
  for (const c of cpus) mask |= 1n << BigInt(c);
  const hex = mask.toString(16);
  // comma-separated 32-bit words, as the kernel prints bitmaps
  const words: string[] = [];
  for (let end = hex.length; end > 0; end -= 8) words.unshift(hex.slice(Math.max(0, end - 8), end));
  return words.join(",");
}

export function parseCpuMaskHex(text: string): number[] {
  const mask = BigInt(`0x${text.trim().replace(/,/g, "") || "0"}`);
  const out: number[] = [];
  for (let c = 0; mask >> BigInt(c) !== 0n; c++) if ((mask >> BigInt(c)) & 1n) out.push(c);
  return out;
}

/** RPS (net.core `rps_cpus` per rx queue) on the device's only rx queue, inside its namespace. */
function setRps(netns: string, ifname: string, cpus: readonly number[]): number[] {
  return withSysfs(netns, (sysfs) => {
    const path = `${sysfs}/class/net/${ifname}/queues/rx-0/rps_cpus`;
    try {
      writeFileSync(path, cpuMaskHex(cpus.length === 0 ? [] : cpus));
    } catch (err) {
      throw new HostError(`setting RPS on ${ifname}: ${(err as Error).message}`);
    }
    return parseCpuMaskHex(readFileSync(path, "utf8"));
  });
}

function single(list: NapiInfo[], ifname: string): NapiInfo {
  const n = list[0];
  if (!n) throw new HostError(`${ifname} has no NAPI instance (GRO should be on)`);
  return n;
}

function sameCpus(a: readonly number[] | null, b: readonly number[]): boolean {
  return a !== null && a.length === b.length && a.every((c, i) => c === b[i]);
}

/** Switch the receiving device to a mode, then read it back and check the kernel did it. */
export function setupMode(
  netns: string,
  ifname: string,
  mode: BenchMode,
  rxCpus: readonly number[],
): ModeSetup {
  const kernelMode = mode === "softirq" ? "disabled" : mode === "busy-poll" ? "busy-poll" : "enabled";
  const rps = setRps(netns, ifname, mode === "softirq" ? rxCpus : []);
  setThreaded(ifname, kernelMode, { netns });
  if (mode !== "softirq") {
    const cpus = mode === "threaded-free" ? onlineCpus() : [...rxCpus];
    pinNapi(ifname, cpus, { netns });
  }
  const napi = single(listNapi({ netns, ifname }), ifname);
  const setup: ModeSetup = {
    mode,
    threaded: napi.threaded,
    napiId: napi.id,
    kthreadPid: napi.pid,
    kthreadName: napi.kthread,
    kthreadCpus: napi.cpus,
    rpsCpus: rps,
  };
  if (napi.threaded !== kernelMode)
    throw new HostError(`${ifname} reads back as ${napi.threaded} after setting ${kernelMode}`);
  if (mode !== "softirq") {
    const want = mode === "threaded-free" ? onlineCpus() : [...rxCpus];
    if (napi.pid === null) throw new HostError(`${ifname} is ${napi.threaded} but has no kthread`);
    if (!sameCpus(napi.cpus, want))
      throw new HostError(
        `NAPI kthread ${napi.kthread} runs on CPUs ${formatCpuList(napi.cpus ?? [])}, not ${formatCpuList(want)}`,
      );
  }
  return setup;
}
