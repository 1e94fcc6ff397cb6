/**
 * `npm run bench:gen`: is napilab's traffic generator fast enough not to be the weak link?
 * Measures in one run, on the same veth pair, payload and CPU, the datagrams per second each
 * generator hands to the device: napilab's AF_PACKET generator (bench's default), napilab's UDP
 * socket generator (`--sender udp`) and iperf3 -u -b 0.
 *
 * The receiver must not be the limit: the receiving veth's NAPI runs as a kthread pinned to the
 * other CPU, and napilab's frames are addressed to a MAC the receiving veth does not own, so its
 * ip_rcv drops them at once (PACKET_OTHERHOST) and the ring keeps room. The UDP senders (napilab's
 * and iperf3) need a real destination, but veth drops a datagram silently when the ring is full,
 * so the receiver does not slow them either. "Handed to the device" counts, for every generator,
 * the datagrams veth dropped at a full ring too (a UDP socket reports them as sent: udp_send_skb
 * swallows ENOBUFS; the packet socket reports ENOBUFS and the generator moves on); the packet
 * generator's share of those is printed, a large one meaning the receiving CPU was busy elsewhere.
 * Needs root (it builds its own namespaces, removed at the end).
 */
import { spawn, spawnSync } from "node:child_process";
import { setupMode } from "../src/bench/modes.js";
import { packetSenderAvailable } from "../src/bench/packet.js";
import { createTopology, destroyRun, newRunId, readMacs } from "../src/bench/topology.js";
import { ThreadGroup } from "../src/bench/traffic.js";
import type { SenderKind } from "../src/bench/traffic-protocol.js";
import { formatRate } from "../src/core/units.js";
import { onlineCpus } from "../src/linux/index.js";

const SIZES = [64, 1472];
const SECONDS = 3;
const PORT = 5001;
const IPERF_PORT = 5201;
/** Locally administered, owned by nobody on the path: the receiving veth drops such frames at once. */
const NOBODY_MAC = "02:00:5e:00:00:01";

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Topo {
  runId: string;
  tx: string;
  rx: string;
  txIfname: string;
}

async function napilabPps(
  t: Topo,
  kind: SenderKind,
  size: number,
  txCpu: number,
  rxCpu: number,
): Promise<{ pps: number; refused: number }> {
  const receiver = await ThreadGroup.start([
    { role: "receiver", netns: t.rx, cpus: [rxCpu], address: "198.18.0.2", port: PORT },
  ]);
  const macs = readMacs(t.runId);
  const sender = await ThreadGroup.start([
    {
      role: "sender",
      netns: t.tx,
      cpus: [txCpu],
      source: "198.18.0.1",
      destination: "198.18.0.2",
      ports: [PORT],
      size,
      batch: 64,
      ratePps: 0,
      generator: kind,
      ifname: t.txIfname,
      srcMac: macs.tx,
      dstMac: NOBODY_MAC,
      wholeDatagrams: false,
    },
  ]);
  try {
    await sleep(300);
    const a = sender.packets()[0] ?? 0;
    const r0 = sender.refused()[0] ?? 0;
    const t0 = process.hrtime.bigint();
    await sleep(SECONDS * 1000);
    const b = sender.packets()[0] ?? 0;
    const refused = (sender.refused()[0] ?? 0) - r0;
    const ns = Number(process.hrtime.bigint() - t0);
    return { pps: ((b - a) * 1e9) / ns, refused };
  } finally {
    await sender.stop();
    await receiver.stop();
  }
}

async function iperfPps(t: Topo, size: number, txCpu: number, rxCpu: number): Promise<number> {
  const server = spawn(
    "ip",
    // biome-ignore format: one iperf3 option per pair
    ["netns", "exec", t.rx, "iperf3", "-s", "-1", "-A", String(rxCpu), "-B", "198.18.0.2", "-p", String(IPERF_PORT)],
    { stdio: "ignore" },
  );
  try {
    await sleep(500);
    const client = spawnSync(
      "ip",
      // biome-ignore format: one iperf3 option per pair
      ["netns", "exec", t.tx, "iperf3", "-u", "-b", "0", "-l", String(size), "-t", String(SECONDS), "-A", String(txCpu),
        "-c", "198.18.0.2", "-p", String(IPERF_PORT), "--json"],
      { encoding: "utf8", timeout: (SECONDS + 20) * 1000 },
    );
    if (client.status !== 0) throw new Error(`iperf3 failed: ${client.stderr || client.stdout}`);
    const doc = JSON.parse(client.stdout) as { end: { sum_sent: { packets: number; seconds: number } } };
    return doc.end.sum_sent.packets / doc.end.sum_sent.seconds;
  } finally {
    server.kill("SIGTERM");
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stdout.write("gen-speed: skipped, needs root (it builds network namespaces)\n");
    return;
  }
  if (spawnSync("iperf3", ["--version"]).error) {
    process.stdout.write("gen-speed: skipped, iperf3 is not installed (scripts/install-system-deps.sh)\n");
    return;
  }
  const packetOk = packetSenderAvailable();
  const cpus = onlineCpus();
  const txCpu = cpus[0] ?? 0;
  const rxCpu = cpus[cpus.length - 1] ?? txCpu;
  const runId = newRunId("gen");
  const cleanup = () => destroyRun(runId);
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const topo = createTopology(runId);
    const t: Topo = { runId, tx: topo.txNetns, rx: topo.rxNetns, txIfname: topo.txIfname };
    setupMode(topo.rxNetns, topo.rxIfname, "threaded", [rxCpu]);
    process.stdout.write(
      `generator speed over veth: datagrams/s handed to the device (${SECONDS}s per figure, sender on CPU ${txCpu}, ` +
        `rx NAPI kthread on CPU ${rxCpu})\n`,
    );
    process.stdout.write(
      "payload  napilab packet  napilab udp  iperf3 -u -b 0  packet/iperf3  udp/iperf3  packet ring-full\n",
    );
    for (const size of SIZES) {
      const packet = packetOk === true ? await napilabPps(t, "packet", size, txCpu, rxCpu) : undefined;
      const udp = await napilabPps(t, "udp", size, txCpu, rxCpu);
      const iperf = await iperfPps(t, size, txCpu, rxCpu);
      const pps = (v: number | undefined) => (v === undefined ? "-" : `${formatRate(Math.round(v))}pps`);
      const ratio = (v: number | undefined) => (v === undefined ? "-" : `${(v / iperf).toFixed(2)}x`);
      process.stdout.write(
        `${String(size).padStart(7)}  ${pps(packet?.pps).padStart(14)}  ${pps(udp.pps).padStart(11)}  ` +
          `${pps(iperf).padStart(14)}  ${ratio(packet?.pps).padStart(13)}  ${ratio(udp.pps).padStart(10)}  ` +
          `${(packet === undefined ? "-" : `${Math.round((packet.refused / (packet.pps * SECONDS)) * 100)}%`).padStart(16)}\n`,
      );
    }
    if (packetOk !== true) process.stdout.write(`packet generator unavailable: ${packetOk}\n`);
  } finally {
    cleanup();
  }
}

await main();
