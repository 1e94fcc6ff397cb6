/**
 * `npm run bench:gen`: is napilab's traffic generator fast enough not to be the weak link?
 * Measures, in one run and on the same veth path with the same payload, the datagrams per second
 * napilab's sendmmsg generator sends next to what iperf3 -u (unlimited rate) sends. Both are
 * pinned to the same CPU; rx processing runs in a NAPI kthread pinned to the other CPU, so the
 * sender's CPU does only sending. Needs root (it builds its own namespaces, removed at the end).
 */
import { spawn, spawnSync } from "node:child_process";
import { setupMode } from "../src/bench/modes.js";
import { createTopology, destroyRun, newRunId } from "../src/bench/topology.js";
import { ThreadGroup } from "../src/bench/traffic.js";
import { formatRate } from "../src/core/units.js";
import { onlineCpus } from "../src/linux/index.js";

const SIZES = [64, 1472];
const SECONDS = 3;
const PORT = 5001;
const IPERF_PORT = 5201;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function napilabPps(
  tx: string,
  rx: string,
  size: number,
  txCpu: number,
  rxCpu: number,
): Promise<number> {
  const receiver = await ThreadGroup.start([
    { role: "receiver", netns: rx, cpus: [rxCpu], address: "198.18.0.2", port: PORT },
  ]);
  const sender = await ThreadGroup.start([
    {
      role: "sender",
      netns: tx,
      cpus: [txCpu],
      source: "198.18.0.1",
      destination: "198.18.0.2",
      ports: [PORT],
      size,
      batch: 64,
      ratePps: 0,
    },
  ]);
  try {
    await sleep(300);
    const a = sender.packets()[0] ?? 0;
    const t0 = process.hrtime.bigint();
    await sleep(SECONDS * 1000);
    const b = sender.packets()[0] ?? 0;
    const ns = Number(process.hrtime.bigint() - t0);
    return ((b - a) * 1e9) / ns;
  } finally {
    await sender.stop();
    await receiver.stop();
  }
}

async function iperfPps(tx: string, rx: string, size: number, txCpu: number, rxCpu: number): Promise<number> {
  const server = spawn(
    "ip",
    [
      "netns",
      "exec",
      rx,
      "iperf3",
      "-s",
      "-1",
      "-A",
      String(rxCpu),
      "-B",
      "198.18.0.2",
      "-p",
      String(IPERF_PORT),
    ],
    { stdio: "ignore" },
  );
  try {
    await sleep(500);
    const client = spawnSync(
      "ip",
      // biome-ignore format: one iperf3 option per pair
      ["netns", "exec", tx, "iperf3", "-u", "-b", "0", "-l", String(size), "-t", String(SECONDS), "-A", String(txCpu),
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
    setupMode(topo.rxNetns, topo.rxIfname, "threaded", [rxCpu]);
    process.stdout.write(
      `generator speed, UDP over veth (${SECONDS}s per figure, sender on CPU ${txCpu}, rx kthread on CPU ${rxCpu})\n`,
    );
    process.stdout.write("payload  napilab sendmmsg   iperf3 -u -b 0   napilab/iperf3\n");
    for (const size of SIZES) {
      const ours = await napilabPps(topo.txNetns, topo.rxNetns, size, txCpu, rxCpu);
      const theirs = await iperfPps(topo.txNetns, topo.rxNetns, size, txCpu, rxCpu);
      process.stdout.write(
        `${String(size).padStart(7)}  ${`${formatRate(ours)}pps`.padStart(16)}  ${`${formatRate(theirs)}pps`.padStart(15)}  ${(ours / theirs).toFixed(2).padStart(14)}x\n`,
      );
    }
  } finally {
    cleanup();
  }
}

await main();
