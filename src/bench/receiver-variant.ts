/**
 * Receiver variants of the bench, the real-host side of the model's `--receiver`: a blocking
 * recv(2) loop (netserver's) or a non-blocking one (MSG_DONTWAIT, spinning on EAGAIN), optionally
 * with socket busy polling (SO_BUSY_POLL, SO_BUSY_POLL_BUDGET) and SO_PREFER_BUSY_POLL. Whether the
 * host can do it is found out, not assumed: the options are set on a probe socket in the receiving
 * namespace, and after traffic the socket's SO_INCOMING_NAPI_ID says whether its datagrams came
 * through a NAPI a busy poller can find (0: busy polling has nothing to poll on this path).
 */
import koffi from "koffi";
import { HostError, InputError } from "../core/errors.js";
import { parseDuration, parseInteger } from "../core/units.js";
import { libc } from "../linux/libc.js";
import { withNetns } from "../linux/netns.js";
import { closeFd, SO_BUSY_POLL, SO_PREFER_BUSY_POLL, SOL_SOCKET, setIntOpt, udpSocket } from "./sys.js";

/** SO_BUSY_POLL_BUDGET (asm-generic/socket.h). */
export const SO_BUSY_POLL_BUDGET = 70;
/** SO_INCOMING_NAPI_ID (asm-generic/socket.h): the NAPI id of the last datagram received. */
export const SO_INCOMING_NAPI_ID = 56;
/** recv(2) flag. */
export const MSG_DONTWAIT = 0x40;

export const BENCH_RECEIVER_KINDS = ["blocking", "nonblocking"] as const;

export interface ReceiverVariant {
  kind: (typeof BENCH_RECEIVER_KINDS)[number];
  /** SO_BUSY_POLL in microseconds (the kernel's unit); 0 = off. */
  busyPollUs: number;
  /** SO_PREFER_BUSY_POLL */
  preferBusyPoll: boolean;
  /** SO_BUSY_POLL_BUDGET; 0 = the kernel's default (8). */
  busyPollBudget: number;
}

export const PLAIN_RECEIVER: ReceiverVariant = {
  kind: "blocking",
  busyPollUs: 0,
  preferBusyPoll: false,
  busyPollBudget: 0,
};

/** Check a variant (one-line InputError naming the option). */
export function validateReceiverVariant(v: ReceiverVariant): void {
  if (!(BENCH_RECEIVER_KINDS as readonly string[]).includes(v.kind))
    throw new InputError(`--receiver must be ${BENCH_RECEIVER_KINDS.join(" or ")}, got ${v.kind}`);
  if (!Number.isInteger(v.busyPollUs) || v.busyPollUs < 0 || v.busyPollUs > 2 ** 31 - 1)
    throw new InputError(`--busy-read must be 0 to 2147s in whole microseconds, got ${v.busyPollUs}us`);
  if (!Number.isInteger(v.busyPollBudget) || v.busyPollBudget < 0 || v.busyPollBudget > 65_535)
    throw new InputError(`--busy-poll-budget must be 0 to 65535, got ${v.busyPollBudget}`);
  if (v.preferBusyPoll && v.busyPollUs === 0)
    throw new InputError("--prefer-busy-poll acts only with socket busy polling: add --busy-read");
}

/** Set the variant's socket options on a receiver socket (throws SysError with the errno's meaning). */
export function applyReceiverVariant(fd: number, v: ReceiverVariant): void {
  if (v.busyPollUs > 0) setIntOpt(fd, SOL_SOCKET, SO_BUSY_POLL, v.busyPollUs, "SO_BUSY_POLL");
  if (v.preferBusyPoll) setIntOpt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL");
  if (v.busyPollBudget > 0)
    setIntOpt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, v.busyPollBudget, "SO_BUSY_POLL_BUDGET");
}

/** recv(2) flags of the variant. */
export function recvFlags(v: ReceiverVariant): number {
  return v.kind === "nonblocking" ? MSG_DONTWAIT : 0;
}

/** One recv(2) with flags: the datagram length, or -errno (EAGAIN when non-blocking and empty). */
export function recvWithFlags(fd: number, buf: Buffer, flags: number): number {
  const n = libc.recv(fd, buf, buf.length, flags);
  return n < 0 ? -koffi.errno() : n;
}

/** SO_INCOMING_NAPI_ID of a socket (0: no NAPI recorded, busy polling cannot find one). */
export function incomingNapiId(fd: number): number {
  const v = Buffer.alloc(4);
  const len = [4];
  if (libc.getsockopt(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, v, len) < 0) return -koffi.errno();
  return v.readUInt32LE(0);
}

/**
 * Whether this host accepts the variant in a namespace: set its options on a probe socket there.
 * Throws HostError naming the option the kernel refused.
 */
export function probeReceiverVariant(netns: string, v: ReceiverVariant): void {
  withNetns(netns, () => {
    const fd = udpSocket();
    try {
      applyReceiverVariant(fd, v);
    } catch (err) {
      throw new HostError(
        `this host cannot run the ${describeReceiverVariant(v)} receiver: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      closeFd(fd);
    }
  });
}

/** The variant from `napilab bench` flags, or undefined when none was given (netserver's loop). */
export function receiverVariantFromFlags(o: {
  receiver?: string;
  busyRead?: string;
  preferBusyPoll?: boolean;
  busyPollBudget?: string;
}): ReceiverVariant | undefined {
  if (
    o.receiver === undefined &&
    o.busyRead === undefined &&
    !o.preferBusyPoll &&
    o.busyPollBudget === undefined
  )
    return undefined;
  const kind = (o.receiver ?? "blocking").trim().toLowerCase();
  if (!(BENCH_RECEIVER_KINDS as readonly string[]).includes(kind))
    throw new InputError(`invalid --receiver '${o.receiver}': use ${BENCH_RECEIVER_KINDS.join(" or ")}`);
  const busyNs = o.busyRead === undefined ? 0 : parseDuration(o.busyRead, "us");
  if (busyNs % 1000 !== 0)
    throw new InputError(`--busy-read ${o.busyRead}: SO_BUSY_POLL takes whole microseconds`);
  const v: ReceiverVariant = {
    kind: kind as ReceiverVariant["kind"],
    busyPollUs: busyNs / 1000,
    preferBusyPoll: o.preferBusyPoll === true,
    busyPollBudget:
      o.busyPollBudget === undefined ? 0 : parseInteger(o.busyPollBudget, "--busy-poll-budget", 1, 65_535),
  };
  validateReceiverVariant(v);
  return v;
}

export function describeReceiverVariant(v: ReceiverVariant): string {
  const parts: string[] = [v.kind];
  if (v.busyPollUs > 0) parts.push(`busy-read ${v.busyPollUs}us`);
  if (v.preferBusyPoll) parts.push("prefer-busy-poll");
  if (v.busyPollBudget > 0) parts.push(`budget ${v.busyPollBudget}`);
  return parts.join("+");
}
