import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventQueue } from "../../src/model/kernel/events.js";
import { Kernel } from "../../src/model/kernel/kernel.js";
import { usecsToJiffies } from "../../src/model/kernel/softirq.js";
import { netdevBudgetUsecsOf } from "../../src/model/profile.js";
import { profile } from "./helpers.js";

function kernelWith(cpus: number, figures = profile.figures, fairClass: "eevdf" | "cfs" = "eevdf") {
  return new Kernel(new EventQueue(), { name: "t", cpus, figures, policy: "6.5", fairClass });
}

describe("kernel tunables derived like the kernel does", () => {
  it("sched tunables scale by 1 + ilog2(min(ncpus, 8)) (SCHED_TUNABLESCALING_LOG)", () => {
    const want: [number, number][] = [
      [1, 0.75e6],
      [2, 1.5e6],
      [3, 1.5e6],
      [4, 2.25e6],
      [16, 3e6],
    ];
    for (const [cpus, slice] of want) {
      const t = (kernelWith(cpus).cpus[0] as Kernel["cpus"][number]).rq.tunables();
      assert.equal(t.baseSliceNs, slice, `${cpus} CPUs`);
    }
    const cfs = (kernelWith(4, profile.figures, "cfs").cpus[0] as Kernel["cpus"][number]).rq.tunables();
    assert.equal(cfs.cfsLatencyNs, 18e6);
    assert.equal(cfs.cfsMinGranularityNs, 2.25e6);
    assert.equal(cfs.cfsWakeupGranularityNs, 3e6);
  });

  it("netdev_budget_usecs defaults to 2 jiffies (2 * USEC_PER_SEC / HZ) whatever HZ is", () => {
    for (const hz of [100, 250, 300, 1000]) {
      const figures = { ...profile.figures, hz };
      const k = kernelWith(1, figures);
      assert.equal(usecsToJiffies(k, netdevBudgetUsecsOf(figures)), 2, `HZ=${hz}`);
    }
    // a profile that sets it keeps its value
    assert.equal(netdevBudgetUsecsOf({ ...profile.figures, netdevBudgetUsecs: 4000 }), 4000);
  });
});
