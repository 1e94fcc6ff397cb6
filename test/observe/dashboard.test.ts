/** The sample Grafana dashboard only queries series the exporter serves, with the labels it sets. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ObserveMetrics } from "../../src/observe/metrics.js";

interface Panel {
  title: string;
  targets: { expr: string }[];
}

describe("dashboards/napilab-rx-path.json", () => {
  const dash = JSON.parse(readFileSync("dashboards/napilab-rx-path.json", "utf8")) as {
    uid: string;
    panels: Panel[];
  };
  it("parses as a dashboard with panels and queries", () => {
    assert.equal(dash.uid, "napilab-rx-path");
    assert.ok(dash.panels.length >= 8);
    for (const p of dash.panels) assert.ok(p.targets.length > 0, p.title);
  });

  it("names only metrics napilab exporter registers", async () => {
    const served = new Set((await new ObserveMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(
      dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/napilab_[a-z_]+/g) ?? [])),
    );
    assert.ok(used.size >= 10);
    for (const name of used) assert.ok(served.has(name), `${name} is not served by the exporter`);
    for (const must of [
      "napilab_napi_thread_cpu_seconds_total",
      "napilab_napi_thread_wait_seconds_total",
      "napilab_softnet_dropped_total",
    ])
      assert.ok(used.has(must), must);
  });
});
