/**
 * `napilab top` as a person uses it: in a real terminal (tmux, on a private server socket), on a
 * fixture tree whose counters move while it runs. Checks the screen, the sort keys and that q
 * leaves the terminal as it was.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, describe, it } from "node:test";
import { writeSyntheticTree } from "../../src/observe/synthetic-tree.js";
import { CLI } from "../support/cli.js";

const SOCKET = `napilab-test-observe-${process.pid}`;
const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "top").stdout;

async function waitForScreen(pred: (s: string) => boolean, what: string, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  let s = "";
  while (Date.now() < end) {
    s = screen();
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}; screen was:\n${s}`);
}

/** NAPI ids of the table rows, top to bottom. */
const rowIds = (s: string) => [...s.matchAll(/^eth\d+\s+(\d+)\s/gm)].map((m) => Number(m[1]));

describe("napilab top in a terminal", {
  skip: spawnSync("tmux", ["-V"]).status !== 0 ? "tmux missing" : false,
}, () => {
  const dir = mkdtempSync(`${tmpdir()}/napilab-observe-tmux-`);
  const shape = { cpus: 4, napis: 6, devices: 1 };
  let tick = 1;
  writeSyntheticTree(dir, { ...shape, tick });
  const mover = setInterval(() => writeSyntheticTree(dir, { ...shape, tick: ++tick }), 100);
  after(() => {
    clearInterval(mover);
    tmux("kill-server");
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows NAPI and CPU rows, re-sorts on keys and restores the terminal on q", async () => {
    const cmd = `${process.execPath} ${CLI} top --proc-root ${dir} --interval 300ms; echo "EXITED $?"; sleep 60`;
    const r = tmux("new-session", "-d", "-s", "top", "-x", "150", "-y", "40", cmd);
    assert.equal(r.status, 0, r.stderr);
    let s = await waitForScreen(
      (x) => /napilab top .*sort CPU%/.test(x) && rowIds(x).length === 6,
      "no first screen",
    );
    assert.match(s, /DEVICE\s+NAPI\s+RXQ\s+MODE\s+PID\s+THREAD/);
    assert.match(s, /^CPU\s+BUSY%\s+SOFTIRQ%/m);
    assert.match(s, /napi\/eth0-8193/);
    assert.match(s, /DIAGNOSES/);
    // equal CPU% everywhere: ties are broken by name. The tree is rewritten while top reads it, so
    // one refresh may catch some instances a tick ahead: orders are checked on a settled screen
    const same = (a: number[], b: number[]) => a.join() === b.join();
    const byName = [8193, 8194, 8195, 8196, 8197, 8198];
    await waitForScreen((x) => same(rowIds(x), byName), "equal CPU% not ordered by name");
    tmux("send-keys", "-t", "top", "w");
    s = await waitForScreen((x) => /sort WAIT%/.test(x), "w did not sort by wait");
    // the synthetic NAPI i waits 50 + i ms per tick: the last one waits most
    await waitForScreen(
      (x) => same(rowIds(x), [...byName].reverse()),
      "w did not order by wait, longest first",
    );
    tmux("send-keys", "-t", "top", "n");
    await waitForScreen((x) => /sort NAME/.test(x) && rowIds(x)[0] === 8193, "n did not sort by name");
    tmux("send-keys", "-t", "top", "q");
    s = await waitForScreen((x) => /EXITED 0/.test(x), "q did not quit with status 0");
    // the alternate screen is gone: the table is no longer on the terminal
    assert.doesNotMatch(s, /DIAGNOSES/);
  });
});
