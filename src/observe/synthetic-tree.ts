/**
 * A synthetic /proc tree for `npm run bench:observe` and the tests: N CPUs and M threaded NAPI
 * instances spread over devices, in the formats of the files a 6.18 kernel prints. Counters grow
 * with `tick`, so two trees written at ticks t and t+1 give known rates.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { FIXTURE_FILE, type NapiFixture } from "./napi-source.js";

export interface SyntheticShape {
  cpus: number;
  napis: number;
  /** Devices the NAPIs are spread over (queue i of device d). */
  devices?: number;
  /** Counter epoch; every counter is a linear function of it. */
  tick?: number;
}

const hex = (n: number) => n.toString(16).padStart(8, "0");
const KSOFTIRQD_BASE = 100;
const NAPI_BASE = 10_000;

export function napiPid(i: number): number {
  return NAPI_BASE + i;
}

function taskStat(pid: number, comm: string, lastCpu: number, ticks: number): string {
  // fields 3..52 of do_task_stat: state, ppid ... utime(14) stime(15) ... processor(39) rt_priority(40) policy(41)
  const f = Array.from({ length: 50 }, () => "0");
  f[0] = "S";
  f[1] = "2";
  f[14 - 3] = String(ticks);
  f[15 - 3] = String(ticks);
  f[39 - 3] = String(lastCpu);
  return `${pid} (${comm}) ${f.join(" ")}\n`;
}

export function writeSyntheticTree(root: string, shape: SyntheticShape): void {
  const t = shape.tick ?? 0;
  const devices = shape.devices ?? Math.max(1, Math.ceil(shape.napis / 16));
  const perDev = Math.ceil(shape.napis / devices);
  mkdirSync(`${root}/net`, { recursive: true });
  const cpus = Array.from({ length: shape.cpus }, (_, c) => c);
  const cpuLine = (name: string, k: number) =>
    `${name} ${1000 * k + 50 * t} 0 ${500 * k + 20 * t} ${9000 * k + 20 * t} 3 0 ${50 * k + 5 * t} 0 0 0`;
  writeFileSync(
    `${root}/stat`,
    [
      cpuLine("cpu ", shape.cpus),
      ...cpus.map((c) => cpuLine(`cpu${c}`, 1)),
      "intr 1 2 3",
      "ctxt 12345",
      "",
    ].join("\n"),
  );
  const row = (name: string, v: number) =>
    `${`${name}:`.padStart(12)}${cpus.map(() => String(v).padStart(11)).join("")}`;
  writeFileSync(
    `${root}/softirqs`,
    [
      `${" ".repeat(12)}${cpus.map((c) => `CPU${c}`.padStart(11)).join("")}`,
      row("HI", 1),
      row("TIMER", 100 + t),
      row("NET_TX", 5),
      row("NET_RX", 1000 + 100 * t),
      row("SCHED", 7),
      "",
    ].join("\n"),
  );
  writeFileSync(
    `${root}/net/softnet_stat`,
    cpus
      .map((c) => [1000 + 1000 * t, t, 2 * t, 0, 0, 0, 0, 0, 0, 0, 0, 0, c, 0, 0].map(hex).join(" "))
      .join("\n")
      .concat("\n"),
  );
  const napis: NapiFixture["napis"] = [];
  const devLines: string[] = [];
  for (let d = 0; d < devices; d++) {
    const name = `eth${d}`;
    const count = Math.min(perDev, shape.napis - d * perDev);
    if (count <= 0) break;
    devLines.push(
      `${`${name}:`.padStart(7)} ${[64e3 * t, 1e3 * t, 0, t, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0].join(" ")}`,
    );
    for (let q = 0; q < count; q++) {
      const i = d * perDev + q;
      napis.push({
        ifname: name,
        ifindex: d + 2,
        id: 8193 + i,
        threaded: "enabled",
        pid: napiPid(i),
        rxQueues: [q],
        irq: 100 + i,
        cpus: [i % shape.cpus],
      });
    }
  }
  writeFileSync(
    `${root}/net/dev`,
    ["Inter-|   Receive |  Transmit", " face |bytes packets ...", ...devLines, ""].join("\n"),
  );
  writeFileSync(
    `${root}/net/snmp`,
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
      `Udp: ${1000 * t} 0 ${t} 0 ${t} 0 0 0 0\n`,
  );
  for (const c of cpus) {
    const dir = `${root}/${KSOFTIRQD_BASE + c}`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/comm`, `ksoftirqd/${c}\n`);
    writeFileSync(`${dir}/stat`, taskStat(KSOFTIRQD_BASE + c, `ksoftirqd/${c}`, c, t));
    writeFileSync(`${dir}/schedstat`, `${1_000_000 * t} ${100_000 * t} ${10 * t}\n`);
  }
  napis.forEach((n, i) => {
    const pid = n.pid as number;
    const dir = `${root}/${pid}`;
    const cpu = i % shape.cpus;
    mkdirSync(dir, { recursive: true });
    const comm = `napi/${n.ifname}-${n.id}`;
    writeFileSync(`${dir}/comm`, `${comm}\n`);
    writeFileSync(`${dir}/stat`, taskStat(pid, comm, cpu, 10 * t));
    // per tick: 200 ms on CPU, and a wait that grows with the instance's index (50 ms + 1 ms * i)
    writeFileSync(`${dir}/schedstat`, `${200_000_000 * t} ${(50_000_000 + 1_000_000 * i) * t} ${100 * t}\n`);
  });
  // per-queue counters as qstats-get reports them: 100 packets of 64 bytes per queue per tick
  const queues = napis.map((n) => ({
    ifindex: n.ifindex,
    queue: (n.rxQueues ?? [0])[0] as number,
    rxPackets: 100 * t,
    rxBytes: 6400 * t,
    rxDrops: null,
  }));
  const fixture: NapiFixture = { napis, queues };
  writeFileSync(`${root}/${FIXTURE_FILE}`, `${JSON.stringify(fixture)}\n`);
}
