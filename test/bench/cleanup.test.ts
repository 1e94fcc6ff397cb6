import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { namespacesWith, runCli, startCli, stateFilesWith, uniquePrefix, waitFor } from "./helpers.js";

/** A long run that is still measuring when the test signals it. */
function longRun(prefix: string) {
  return startCli([
    "bench",
    "--modes",
    "threaded",
    "--sizes",
    "64",
    "--flows",
    "2",
    "--duration",
    "60s",
    "--no-save",
    "--run-id-prefix",
    prefix,
  ]);
}

describe("napilab bench clean-up on every exit path (root)", () => {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} mid-run removes everything and exits ${code}`, async () => {
      const prefix = uniquePrefix(signal === "SIGINT" ? "tint" : "tterm");
      const run = longRun(prefix);
      assert.ok(await waitFor(() => namespacesWith(prefix).length === 2, 20_000), "topology appeared");
      await new Promise((r) => setTimeout(r, 1500)); // traffic is flowing by now
      if (signal === "SIGTERM") {
        // a live run is neither cleaned up nor run next to
        const clean = runCli(["bench", "--cleanup", "--json"]);
        assert.equal(clean.code, 0, clean.stderr);
        const report = JSON.parse(clean.stdout) as { skippedLive: string[]; removed: string[] };
        assert.ok(report.skippedLive.some((id) => id.startsWith(prefix)));
        assert.equal(namespacesWith(prefix).length, 2);
        const second = runCli(["bench", "--quick", "--no-save"]);
        assert.equal(second.code, 1);
        assert.match(second.stderr, /another napilab bench run .* is in progress/);
      }
      run.child.kill(signal);
      const end = await run.exited;
      assert.equal(end.code, code, end.stderr);
      assert.match(end.stderr, new RegExp(`interrupted by ${signal}`));
      assert.deepEqual(namespacesWith(prefix), []);
      assert.deepEqual(stateFilesWith(prefix), []);
    });
  }

  it("a killed run's leftovers block the next run until --cleanup removes them", async () => {
    const prefix = uniquePrefix("tkill");
    const run = longRun(prefix);
    assert.ok(await waitFor(() => namespacesWith(prefix).length === 2, 20_000));
    run.child.kill("SIGKILL");
    await run.exited;
    assert.equal(namespacesWith(prefix).length, 2, "SIGKILL leaves the topology behind");

    const blocked = runCli(["bench", "--quick", "--no-save"]);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /leftover topology of crashed bench run .*napilab bench --cleanup/);

    const clean = runCli(["bench", "--cleanup", "--json"]);
    assert.equal(clean.code, 0, clean.stderr);
    const report = JSON.parse(clean.stdout) as { removed: string[] };
    assert.equal(report.removed.filter((n) => n.startsWith(`napilab-${prefix}`)).length, 2);
    assert.deepEqual(namespacesWith(prefix), []);
    assert.deepEqual(stateFilesWith(prefix), []);

    const again = runCli(["bench", "--cleanup"]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /nothing to clean up/);
  });
});
