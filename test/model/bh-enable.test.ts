import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FloodOptions, runFlood } from "../../src/model/scenarios/flood.js";
import { profile } from "./helpers.js";

const base: FloodOptions = {
  profile,
  cpus: 1,
  mode: "softirq",
  ratePps: 2e6,
  size: 64,
  flows: 1,
  durationNs: 50e6,
  warmupNs: 10e6,
};

describe("recv() runs pending softirqs at its local_bh_enable (spin_unlock_bh in __skb_recv_udp)", () => {
  it("1 CPU at 2M pps: pre-4.9 and 6.5 starve the receiver, 4.9 splits the CPU with ksoftirqd", () => {
    const v49 = runFlood({ ...base, softirqPolicy: "4.9" });
    const thr = runFlood({ ...base, mode: "threaded", softirqPolicy: "6.5" });
    assert.ok(
      v49.deliveredPps > 0.4 * thr.deliveredPps,
      `4.9 ${v49.deliveredPps} vs threaded ${thr.deliveredPps}`,
    );
    for (const p of ["pre-4.9", "6.5"] as const) {
      const r = runFlood({ ...base, softirqPolicy: p });
      assert.ok(
        r.deliveredPps < 0.01 * v49.deliveredPps,
        `${p} delivered ${r.deliveredPps} vs 4.9 ${v49.deliveredPps}`,
      );
      assert.ok(r.deliveredPps > 0, `${p}: the receiver still gets a few datagrams through`);
    }
  });

  it("threaded mode is unaffected by the softirq policy and stays near its peak", () => {
    const got = (["pre-4.9", "4.9", "6.5"] as const).map(
      (p) => runFlood({ ...base, mode: "threaded", softirqPolicy: p }).deliveredPps,
    );
    const peak = Math.max(...got);
    for (const g of got) assert.ok(g > 0.95 * peak, `threaded ${got.join(", ")}`);
    assert.ok(peak > 500e3);
  });

  it("the pre-4.9 softirq sweep is non-increasing past its peak", () => {
    const rates = [200e3, 600e3, 1e6, 1.4e6, 1.7e6, 2e6, 4e6];
    const got = rates.map(
      (r) => runFlood({ ...base, durationNs: 30e6, ratePps: r, softirqPolicy: "pre-4.9" }).deliveredPps,
    );
    const peakAt = got.indexOf(Math.max(...got));
    for (let i = peakAt + 1; i < got.length; i++)
      assert.ok(
        (got[i] as number) <= (got[i - 1] as number) * 1.02 + 1e3,
        `sweep ${got.map((g) => Math.round(g)).join(", ")}`,
      );
  });
});

describe("softirq time run from local_bh_enable in a task (CONFIG_IRQ_TIME_ACCOUNTING)", () => {
  it("with irq time accounting it shows as softirq time and is not charged to the receiver", () => {
    const r = runFlood({ ...base, softirqPolicy: "pre-4.9" });
    const c = r.cpu[0];
    assert.ok(c && c.softirq > 90, `softirq share ${c?.softirq}`);
    assert.ok(c && c.receivers < 5, `receiver share ${c?.receivers}`);
    const rx = r.tasks.find((t) => t.name === "netserver-0");
    assert.ok(rx && rx.runPct < 5, `netserver run time ${rx?.runPct}%`);
  });

  it("without it the softirq time is still softirq in the split but advances the receiver's vruntime", () => {
    const p0 = { ...profile, figures: { ...profile.figures, irqTimeAccounting: 0 } };
    const r = runFlood({ ...base, profile: p0, softirqPolicy: "pre-4.9" });
    const c = r.cpu[0];
    assert.ok(c && c.softirq > 30 && c.receivers < 5, JSON.stringify(c));
    // the receiver pays for it in vruntime, so ksoftirqd gets its fair turn
    assert.ok(c && c.ksoftirqd > 30, `ksoftirqd share ${c?.ksoftirqd}`);
  });
});
