/**
 * The body of every traffic thread of a bench run, started as a worker_thread. A thread first
 * moves itself into its namespace (setns) and onto its CPUs (sched_setaffinity), both of which the
 * kernel applies to the calling thread only, then creates its socket there.
 *
 * - receiver: netserver-style, one socket and one recv(2) per datagram, counting what it gets.
 * - sender: one unconnected socket, sendmmsg(2) batches that cycle over the flows' destinations.
 *
 * Counters live in a SharedArrayBuffer the main thread reads without stopping anyone.
 */
import { parentPort, workerData } from "node:worker_threads";
import { applyReceiverVariant, incomingNapiId, recvFlags, recvWithFlags } from "./receiver-variant.js";
import {
  bindTo,
  closeFd,
  enterNetns,
  gettid,
  pinThisThread,
  recvOnce,
  SendBatch,
  SO_SNDBUFFORCE,
  SOL_SOCKET,
  setIntOpt,
  setRecvTimeout,
  sockaddrIn,
  udpSocket,
} from "./sys.js";
import type { TrafficWorkerData } from "./traffic-protocol.js";
import {
  CTRL_STOP,
  SLOT_BYTES,
  SLOT_ERRORS,
  SLOT_NAPI_ID,
  SLOT_PACKETS,
  SLOT_WIDTH,
} from "./traffic-protocol.js";

const SENDER_SNDBUF = 16 * 1024 * 1024;
const data = workerData as TrafficWorkerData;
const ctrl = new Int32Array(data.control);
const counters = new Float64Array(data.counters);
const base = data.slot * SLOT_WIDTH;

function stopped(): boolean {
  return Atomics.load(ctrl, CTRL_STOP) !== 0;
}

function runReceiver(d: Extract<TrafficWorkerData, { role: "receiver" }>): void {
  const fd = udpSocket();
  try {
    bindTo(fd, d.address, d.port);
    // a timeout so a receiver blocked in recv notices the stop flag (idle receivers wake 4 times a second)
    setRecvTimeout(fd, 250);
    const variant = d.variant;
    if (variant) applyReceiverVariant(fd, variant);
    const flags = variant ? recvFlags(variant) : 0;
    let napiIdSeen = false;
    const buf = Buffer.alloc(65536);
    parentPort?.postMessage({ type: "ready", tid: gettid() });
    let packets = 0;
    let bytes = 0;
    while (!stopped()) {
      const n = flags === 0 ? recvOnce(fd, buf) : recvWithFlags(fd, buf, flags);
      if (n >= 0 && !napiIdSeen && variant) {
        napiIdSeen = true;
        counters[base + SLOT_NAPI_ID] = incomingNapiId(fd);
      }
      if (n >= 0) {
        packets++;
        bytes += n;
        counters[base + SLOT_PACKETS] = packets;
        counters[base + SLOT_BYTES] = bytes;
      }
    }
  } finally {
    closeFd(fd);
  }
}

function runSender(d: Extract<TrafficWorkerData, { role: "sender" }>): void {
  const fd = udpSocket();
  const dests = d.ports.map((port) => sockaddrIn(d.destination, port));
  // a whole number of rounds over the flows, so every flow gets the same share of each batch
  const rounds = Math.max(1, Math.ceil(d.batch / dests.length));
  const batch = new SendBatch(dests, rounds * dests.length, d.size);
  try {
    bindTo(fd, d.source, 0);
    // a large send buffer, so datagrams waiting in the veth ring do not throttle the flood
    setIntOpt(fd, SOL_SOCKET, SO_SNDBUFFORCE, SENDER_SNDBUF, "SO_SNDBUFFORCE");
    parentPort?.postMessage({ type: "ready", tid: gettid() });
    let packets = 0;
    let errors = 0;
    const start = process.hrtime.bigint();
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    while (!stopped()) {
      const r = batch.send(fd);
      if (r > 0) packets += r;
      else errors++;
      counters[base + SLOT_PACKETS] = packets;
      counters[base + SLOT_BYTES] = packets * d.size;
      counters[base + SLOT_ERRORS] = errors;
      if (d.ratePps > 0) {
        // pace to the asked offered load: sleep until this many packets are due
        const dueNs = (packets / d.ratePps) * 1e9;
        const aheadNs = dueNs - Number(process.hrtime.bigint() - start);
        if (aheadNs > 50_000) Atomics.wait(sleeper, 0, 0, aheadNs / 1e6);
      }
    }
  } finally {
    batch.free();
    closeFd(fd);
  }
}

try {
  enterNetns(data.netns);
  pinThisThread(data.cpus);
  if (data.role === "receiver") runReceiver(data);
  else runSender(data);
  parentPort?.postMessage({ type: "done" });
} catch (err) {
  parentPort?.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
}
