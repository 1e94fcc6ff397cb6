/**
 * The /proc parsers of the observe pillar, on copies of real files (host-6.18 was captured from a
 * 6.18 kernel with a threaded veth; the softnet_stat-* files have the column counts older kernels
 * print) and fuzzed with fast-check: never a throw, only finite counters, and well-formed input
 * comes back exactly.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseCpuStat } from "../../src/observe/parse-cpu-stat.js";
import { parseNetDev } from "../../src/observe/parse-net-dev.js";
import { parseUdpSnmp } from "../../src/observe/parse-snmp.js";
import { parseSoftirqRow, parseSoftirqs } from "../../src/observe/parse-softirqs.js";
import { parseSoftnet } from "../../src/observe/parse-softnet.js";
import { parseTaskSchedstat, parseTaskStat, parseTaskStatus } from "../../src/observe/parse-task.js";

const fx = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const host = (name: string) => fx(`host-6.18/${name}`);

describe("observe parsers on real files", () => {
  it("reads /proc/stat per CPU in ns, skipping the aggregate line", () => {
    const text = host("stat");
    const s = parseCpuStat(text);
    const cpuLines = text.split("\n").filter((l) => /^cpu\d/.test(l));
    assert.equal(s.size, cpuLines.length);
    const cols = (cpuLines[0] as string).split(/\s+/).slice(1).map(Number);
    const c0 = s.get(0);
    assert.ok(c0);
    assert.equal(c0.userNs, (cols[0] as number) * 1e7);
    assert.equal(c0.softirqNs, (cols[6] as number) * 1e7);
    assert.equal(c0.totalNs, cols.slice(0, 8).reduce((a, b) => a + b, 0) * 1e7);
  });

  it("reads NET_RX per CPU from /proc/softirqs, by the header's CPU numbers", () => {
    const s = parseSoftirqs(host("softirqs"));
    const netRx = s.get("NET_RX");
    assert.ok(netRx && netRx.size >= 1);
    const line = host("softirqs")
      .split("\n")
      .find((l) => l.includes("NET_RX:")) as string;
    assert.equal(netRx.get(0), Number(line.trim().split(/\s+/)[1]));
    const offline = parseSoftirqs(fx("softirqs-offline-cpu")).get("NET_RX");
    assert.deepEqual(
      [...(offline ?? [])],
      [
        [0, 98765],
        [2, 4321],
        [3, 210],
      ],
    );
  });

  it("reads every softnet_stat layout: 6.18 (15 columns), 5.10 (13), 4.19 (11), 3.10 (10)", () => {
    const now = parseSoftnet(host("softnet_stat"));
    const first = host("softnet_stat").split("\n")[0]?.split(" ") as string[];
    assert.equal(now.get(0)?.processed, Number.parseInt(first[0] as string, 16));
    assert.equal(now.get(0)?.cpuFromLine, true);
    assert.notEqual(now.get(0)?.backlogLen, null);

    const k510 = parseSoftnet(fx("softnet_stat-5.10"));
    // the CPU column (13th) says 0 and 2: CPU 1 is offline
    assert.deepEqual([...k510.keys()], [0, 2]);
    assert.deepEqual(k510.get(2), {
      processed: 0x13c22,
      dropped: 0,
      timeSqueeze: 5,
      receivedRps: 0x11,
      flowLimitCount: 3,
      backlogLen: 7,
      cpuFromLine: true,
    });
    const k419 = parseSoftnet(fx("softnet_stat-4.19"));
    assert.deepEqual([...k419.keys()], [0, 1]);
    assert.equal(k419.get(0)?.timeSqueeze, 0x1b);
    assert.equal(k419.get(1)?.flowLimitCount, 3);
    assert.equal(k419.get(1)?.backlogLen, null);
    assert.equal(k419.get(1)?.cpuFromLine, false);
    const k310 = parseSoftnet(fx("softnet_stat-3.10"));
    assert.equal(k310.get(0)?.receivedRps, 4);
    assert.equal(k310.get(0)?.flowLimitCount, 0);
  });

  it("reads a NAPI kthread's stat, schedstat and status", () => {
    const st = parseTaskStat(host("napi-stat"));
    assert.ok(st);
    assert.match(st.comm, /^napi\/vb-\d+$/);
    assert.equal(st.policy, 0);
    const f = host("napi-stat").split(") ")[1]?.split(" ") as string[];
    assert.equal(st.lastCpu, Number(f[36]));
    const ss = parseTaskSchedstat(host("napi-schedstat"));
    assert.ok(ss);
    assert.equal(ss.runNs, Number(host("napi-schedstat").split(" ")[0]));
    const status = parseTaskStatus(host("napi-status"));
    assert.ok(status.cpusAllowed && status.cpusAllowed.length >= 1);
    assert.equal(
      status.voluntarySwitches,
      Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(host("napi-status"))?.[1]),
    );
  });

  it("counts stat fields from the last ')' when the comm has spaces and parentheses", () => {
    const st = parseTaskStat(fx("stat-odd-comm"));
    assert.deepEqual(st, {
      comm: "my (odd) name",
      state: "R",
      cpuTicksNs: (250 + 130) * 1e7,
      lastCpu: 3,
      rtPriority: 50,
      policy: 1,
    });
  });

  it("reads /proc/net/dev and the Udp lines of /proc/net/snmp", () => {
    const dev = parseNetDev(host("net-dev"));
    assert.deepEqual([...dev.keys()].sort(), ["lo", "va", "vb"]);
    assert.equal(dev.get("vb")?.rxPackets, 8);
    assert.equal(dev.get("vb")?.rxBytes, 656);
    const udp = parseUdpSnmp(host("snmp"));
    assert.ok(udp);
    assert.equal(udp.rcvbufErrors, 0);
    assert.equal(parseUdpSnmp("Ip: Forwarding\nIp: 1\n"), undefined);
  });
});

/** Counters as the kernel keeps them: unsigned, up to 2^53 here (JS numbers stay exact). */
const counter = fc.nat({ max: 2 ** 40 });
const garbage = fc.string({ maxLength: 400 });
const finiteCounters = (o: object) =>
  Object.values(o).every((v) => v === null || typeof v === "boolean" || (Number.isFinite(v) && v >= 0));

describe("observe parsers, fuzzed", () => {
  it("never throw on arbitrary text and return only finite non-negative counters", () => {
    fc.assert(
      fc.property(garbage, (text) => {
        for (const v of parseCpuStat(text).values()) assert.ok(finiteCounters(v));
        for (const v of parseSoftnet(text).values()) assert.ok(finiteCounters(v));
        for (const row of parseSoftirqs(text).values())
          for (const v of row.values()) assert.ok(Number.isFinite(v) && v >= 0);
        assert.deepEqual(parseSoftirqRow(text, "NET_RX"), parseSoftirqs(text).get("NET_RX"));
        for (const v of parseNetDev(text).values()) assert.ok(finiteCounters(v));
        const u = parseUdpSnmp(text);
        if (u) assert.ok(finiteCounters(u));
        const st = parseTaskStat(text);
        if (st) assert.ok(Number.isFinite(st.cpuTicksNs) && st.lastCpu >= 0);
        parseTaskSchedstat(text);
        parseTaskStatus(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("survive real files with bytes flipped or cut", () => {
    const files = ["stat", "softirqs", "softnet_stat", "napi-stat", "napi-status", "net-dev", "snmp"].map(
      host,
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...files),
        fc.nat(),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 3 }),
        (text, at, cut, insert) => {
          const i = at % (text.length + 1);
          const mangled = text.slice(0, i) + insert + text.slice(i + (cut % 5));
          parseCpuStat(mangled);
          parseSoftnet(mangled);
          // the sampler's one-row reader agrees with the whole-table parser, whatever the damage
          assert.deepEqual(parseSoftirqRow(mangled, "NET_RX"), parseSoftirqs(mangled).get("NET_RX"));
          parseNetDev(mangled);
          parseUdpSnmp(mangled);
          parseTaskStat(mangled);
          parseTaskStatus(mangled);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("softnet_stat: generated lines of 10 to 15 columns come back exactly", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 15 }),
        fc.array(fc.array(fc.nat({ max: 0xffffffff }), { minLength: 15, maxLength: 15 }), {
          minLength: 1,
          maxLength: 16,
        }),
        (width, rows) => {
          const text = rows
            .map((r, i) => {
              const cols = [...r];
              cols[12] = i * 2; // CPU numbers with gaps, as with offline CPUs
              return cols
                .slice(0, width)
                .map((n) => n.toString(16).padStart(8, "0"))
                .join(" ");
            })
            .join("\n");
          const parsed = parseSoftnet(text);
          assert.equal(parsed.size, rows.length);
          rows.forEach((r, i) => {
            const cpu = width >= 13 ? i * 2 : i;
            const got = parsed.get(cpu);
            assert.ok(got, `cpu ${cpu}`);
            assert.equal(got.processed, r[0]);
            assert.equal(got.dropped, r[1]);
            assert.equal(got.timeSqueeze, r[2]);
            assert.equal(got.receivedRps, r[9]);
            assert.equal(got.flowLimitCount, width >= 11 ? r[10] : 0);
            assert.equal(got.backlogLen, width >= 12 ? r[11] : null);
          });
        },
      ),
    );
  });

  it("/proc/stat and /proc/softirqs: generated tables come back exactly", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 4095 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.array(counter, { minLength: 10, maxLength: 10 }), { minLength: 12, maxLength: 12 }),
        (cpus, values) => {
          const stat = cpus.map((c, i) => `cpu${c} ${(values[i] as number[]).join(" ")}`).join("\n");
          const s = parseCpuStat(`cpu  1 2 3 4 5 6 7 8 9 10\n${stat}\nintr 5 6\n`);
          cpus.forEach((c, i) => {
            const v = values[i] as number[];
            assert.equal(s.get(c)?.softirqNs, (v[6] as number) * 1e7);
            assert.equal(s.get(c)?.irqNs, (v[5] as number) * 1e7);
          });
          const head = `      ${cpus.map((c) => `CPU${c}`.padStart(11)).join("")}`;
          // the kernel prints " %10u" per CPU (show_softirqs): always a space, even for wide numbers
          const net = `      NET_RX:${cpus.map((_, i) => ` ${String((values[i] as number[])[0]).padStart(10)}`).join("")}`;
          const rows = parseSoftirqs(`${head}\n${net}\n`).get("NET_RX");
          assert.deepEqual(parseSoftirqRow(`${head}\n${net}\n`, "NET_RX"), rows);
          cpus.forEach((c, i) => {
            assert.equal(rows?.get(c), (values[i] as number[])[0]);
          });
        },
      ),
    );
  });

  it("task stat: generated comms and fields come back", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 15 }).filter((s) => !s.includes("\n")),
        counter,
        counter,
        fc.nat({ max: 8191 }),
        (comm, utime, stime, cpu) => {
          const f = Array.from({ length: 50 }, () => "0");
          f[0] = "S";
          f[11] = String(utime);
          f[12] = String(stime);
          f[36] = String(cpu);
          const st = parseTaskStat(`77 (${comm}) ${f.join(" ")}\n`);
          assert.ok(st);
          assert.equal(st.comm, comm);
          assert.equal(st.cpuTicksNs, (utime + stime) * 1e7);
          assert.equal(st.lastCpu, cpu);
        },
      ),
    );
  });
});
