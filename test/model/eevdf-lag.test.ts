import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SLEEP, type Task } from "../../src/model/kernel/task.js";
import { runFlood } from "../../src/model/scenarios/flood.js";
import { hog, kernel, profile, shares } from "./helpers.js";

describe("EEVDF: lag is saved at dequeue while the sleeper still counts in V (update_entity_lag)", () => {
  it("a napi kthread at nice -5, a receiver and a hog on 1 CPU share it by weight (60/20/20)", () => {
    const r = runFlood({
      profile,
      cpus: 1,
      mode: "threaded",
      ratePps: 4e6,
      size: 64,
      flows: 1,
      durationNs: 100e6,
      warmupNs: 20e6,
      hogs: 1,
      napiPolicy: { policy: "other", nice: -5 },
      fairClass: "eevdf",
    });
    const share = (name: string) => r.tasks.find((t) => t.name.startsWith(name))?.runPct ?? -1;
    const [napi, rx, h] = [share("napi/"), share("netserver-"), share("hog-")];
    assert.ok(napi > 55 && napi < 68, `napi ${napi}% (weights give 60%)`);
    assert.ok(rx > 12 && rx < 25, `receiver ${rx}% (weights give 20%)`);
    assert.ok(h > 15 && h < 25, `hog ${h}% (weights give 20%)`);
  });

  it("a task that works 100 us and sleeps 100 us gets no more than its half against a hog", () => {
    const { q, k } = kernel(1);
    const h = hog(k, "hog", { policy: "other", nice: 0 });
    const s: Task = k.createTask("sleeper", "other", { policy: "other", nice: 0 }, [0], {
      body: function* (t) {
        for (;;) {
          yield 100_000;
          q.after(100_000, () => k.wake(t));
          yield SLEEP;
        }
      },
      preemptible: true,
    });
    k.wake(h);
    k.wake(s);
    const [ss, sh] = shares(k, q, [s, h], 20e6, 200e6);
    assert.ok((ss as number) <= 0.51, `sleeper ${ss}, hog ${sh}`);
  });
});
