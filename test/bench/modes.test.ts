import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setupMode } from "../../src/bench/modes.js";
import { createTopology, destroyRun, newRunId, type Topology } from "../../src/bench/topology.js";
import { listNapi } from "../../src/linux/index.js";
import { cpusAllowed, namespacesWith, STATE_DIR } from "./helpers.js";

/** rps_cpus of the receiving veth, read through ip netns exec (not through napilab's code). */
function rpsMask(t: Topology): string {
  const r = spawnSync(
    "ip",
    ["netns", "exec", t.rxNetns, "cat", `/sys/class/net/${t.rxIfname}/queues/rx-0/rps_cpus`],
    { encoding: "utf8" },
  );
  return r.stdout.trim().replace(/^0+(?=.)/, "");
}

describe("bench topology and modes (real kernel, root)", () => {
  const runId = newRunId("tmode");
  let topo: Topology;
  const online = spawnSync("cat", ["/sys/devices/system/cpu/online"], { encoding: "utf8" }).stdout.trim();
  const rxCpu = Number(online.split(/[-,]/).pop());

  before(() => {
    topo = createTopology(runId);
  });
  after(() => {
    destroyRun(runId);
  });

  it("builds two namespaces joined by a veth whose receiving end has a NAPI instance", () => {
    assert.deepEqual(namespacesWith(runId).sort(), [`napilab-${runId}-rx`, `napilab-${runId}-tx`]);
    const napis = listNapi({ netns: topo.rxNetns, ifname: topo.rxIfname });
    assert.equal(napis.length, 1);
    const addr = spawnSync("ip", ["-n", topo.rxNetns, "-4", "-o", "addr", "show", topo.rxIfname], {
      encoding: "utf8",
    });
    assert.match(addr.stdout, /198\.18\.0\.2\/30/);
  });

  it("threaded: the kthread exists and is pinned to the receivers' CPU, RPS off", () => {
    const s = setupMode(topo.rxNetns, topo.rxIfname, "threaded", [rxCpu]);
    const n = listNapi({ netns: topo.rxNetns, ifname: topo.rxIfname })[0];
    assert.equal(n?.threaded, "enabled");
    assert.ok(n?.pid && n.pid > 0);
    assert.equal(n?.pid, s.kthreadPid);
    assert.equal(cpusAllowed(n.pid), String(rxCpu));
    assert.equal(rpsMask(topo), "0");
  });

  it("threaded-free: the kthread may run on every online CPU", () => {
    const s = setupMode(topo.rxNetns, topo.rxIfname, "threaded-free", [rxCpu]);
    assert.ok(s.kthreadPid);
    assert.equal(cpusAllowed(s.kthreadPid), online);
  });

  it("softirq: no kthread, RPS steers to the receivers' CPU", () => {
    const s = setupMode(topo.rxNetns, topo.rxIfname, "softirq", [rxCpu]);
    const n = listNapi({ netns: topo.rxNetns, ifname: topo.rxIfname })[0];
    assert.equal(n?.threaded, "disabled");
    assert.equal(n?.pid, null);
    assert.deepEqual(s.rpsCpus, [rxCpu]);
    assert.equal(rpsMask(topo), (1 << rxCpu).toString(16));
  });

  it("destroyRun removes the namespaces and the state file, and nothing else", () => {
    const other = spawnSync("ip", ["netns", "add", `keep-${runId}`]);
    assert.equal(other.status, 0);
    try {
      const { removed } = destroyRun(runId);
      assert.equal(removed.length, 2);
      assert.deepEqual(namespacesWith(runId), []);
      assert.equal(existsSync(`${STATE_DIR}/${runId}.json`), false);
      assert.equal(existsSync(`/run/netns/keep-${runId}`), true);
    } finally {
      spawnSync("ip", ["netns", "del", `keep-${runId}`]);
    }
  });
});
