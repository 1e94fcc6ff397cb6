/**
 * The options of a bench run and their validation. Everything is checked here, before anything is
 * created on the host, so bad input leaves nothing behind.
 */
import { spawnSync } from "node:child_process";
import { HostError, InputError } from "../core/errors.js";
import { formatCpuList } from "../core/units.js";
import { hasCap } from "../linux/caps.js";
import { checkCpusOnline } from "../linux/index.js";
import { type BenchMode, busyPollSupported } from "./modes.js";
import { type ReceiverVariant, validateReceiverVariant } from "./receiver-variant.js";

/** Largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
export const MAX_UDP_PAYLOAD = 65507;
/**
 * Receiver threads one receiver CPU may carry. Each receiver is a thread with its own JS heap;
 * the limit matches the widest cell of the reference experiment (200 flows on one vCPU).
 */
export const RECEIVERS_PER_CPU = 200;
export const MIN_DURATION_NS = 200_000_000;
export const MAX_DURATION_NS = 600_000_000_000;

export interface BenchOptions {
  modes: BenchMode[];
  sizes: number[];
  flows: number[];
  /** Measurement window per cell, integer ns. */
  durationNs: number;
  /** Traffic before the window opens (ramp-up, not counted), integer ns. */
  warmupNs: number;
  rxCpus: number[];
  txCpus: number[];
  /** Offered load to pace the sender to; 0 = flood. */
  ratePps: number;
  /** Messages per sendmmsg call. */
  batch: number;
  /** Prefix of the run id (tests use it to keep their runs apart). */
  runIdPrefix?: string;
  /** Receiver variant (receiver-variant.ts); absent: netserver's blocking recv loop. */
  receiver?: ReceiverVariant;
}

/** Reject what cannot run, with one clear message. Returns the options with unsupported modes noted. */
export function validateBenchOptions(o: BenchOptions): void {
  if (o.modes.length === 0) throw new InputError("no modes given");
  if (o.sizes.length === 0) throw new InputError("no sizes given");
  for (const s of o.sizes)
    if (!Number.isInteger(s) || s < 1 || s > MAX_UDP_PAYLOAD)
      throw new InputError(`invalid size ${s}: a UDP payload is 1 to ${MAX_UDP_PAYLOAD} bytes over IPv4`);
  if (o.flows.length === 0) throw new InputError("no flow counts given");
  for (const f of o.flows)
    if (!Number.isInteger(f) || f < 1)
      throw new InputError(`invalid flow count ${f}: at least 1 flow is needed`);
  const maxReceivers = o.rxCpus.length * RECEIVERS_PER_CPU;
  const widest = Math.max(...o.flows);
  if (widest > maxReceivers)
    throw new InputError(
      `${widest} flows need ${widest} receiver threads, but ${o.rxCpus.length} receiver CPU(s) ` +
        `(${formatCpuList(o.rxCpus)}) allow at most ${maxReceivers} (${RECEIVERS_PER_CPU} per CPU); ` +
        "give more --rx-cpus or fewer --flows",
    );
  if (o.durationNs < MIN_DURATION_NS || o.durationNs > MAX_DURATION_NS)
    throw new InputError("invalid duration: each cell must run 200ms to 10m");
  if (o.warmupNs < 0 || o.warmupNs > MAX_DURATION_NS) throw new InputError("invalid warm-up: 0 to 10m");
  if (!Number.isInteger(o.batch) || o.batch < 1 || o.batch > 1024)
    throw new InputError(`invalid batch ${o.batch}: 1 to 1024 messages per sendmmsg (UIO_MAXIOV)`);
  if (!(o.ratePps >= 0) || !Number.isFinite(o.ratePps))
    throw new InputError("invalid rate: must be 0 (flood) or more");
  if (o.runIdPrefix !== undefined && !/^[a-z0-9]{0,8}$/.test(o.runIdPrefix))
    throw new InputError("invalid run id prefix: up to 8 lower-case letters and digits");
  if (o.receiver) validateReceiverVariant(o.receiver);
  checkCpusOnline(o.rxCpus);
  checkCpusOnline(o.txCpus);
}

/** What the host must give: root (namespaces and veth need CAP_SYS_ADMIN and CAP_NET_ADMIN), ip, ethtool. */
export function checkHost(modes: readonly BenchMode[]): void {
  if (process.getuid?.() !== 0 || !hasCap("CAP_SYS_ADMIN") || !hasCap("CAP_NET_ADMIN"))
    throw new HostError(
      "napilab bench must run as root: it creates network namespaces and a veth pair (CAP_SYS_ADMIN, CAP_NET_ADMIN)",
    );
  for (const tool of ["ip", "ethtool"]) {
    const r = spawnSync(tool, ["-V"], { encoding: "utf8" });
    if (r.error)
      throw new HostError(
        `napilab bench needs '${tool}' (install ${tool === "ip" ? "iproute2" : "ethtool"})`,
      );
  }
  if (modes.includes("busy-poll") && !busyPollSupported())
    throw new HostError(
      "this kernel has no threaded busy-poll (netdev napi-set threaded=busy-poll); drop busy-poll from --modes",
    );
}
