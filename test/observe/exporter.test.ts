/** The exporter's address parsing and HTTP behaviour, in process, on a fixture tree. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, describe, it } from "node:test";
import { InputError } from "../../src/core/errors.js";
import { DEFAULT_LISTEN, parseListen, startExporter } from "../../src/observe/exporter.js";
import { writeSyntheticTree } from "../../src/observe/synthetic-tree.js";

describe("exporter --listen", () => {
  it("defaults to loopback and parses IPv4, bracketed IPv6 and a bare port", () => {
    assert.deepEqual(parseListen(DEFAULT_LISTEN), { host: "127.0.0.1", port: 9977 });
    assert.deepEqual(parseListen(":9100"), { host: "127.0.0.1", port: 9100 });
    assert.deepEqual(parseListen("[::1]:9977"), { host: "::1", port: 9977 });
    assert.deepEqual(parseListen("0.0.0.0:0"), { host: "0.0.0.0", port: 0 });
  });
  it("rejects what is not HOST:PORT, naming the option", () => {
    for (const bad of ["9977", "host:", "127.0.0.1:65536", "::1:9977", "a b:1", ""])
      assert.throws(
        () => parseListen(bad),
        (e: Error) => e instanceof InputError && /--listen/.test(e.message),
        bad,
      );
  });
});

describe("exporter over HTTP", () => {
  const dir = mkdtempSync(`${tmpdir()}/napilab-observe-exporter-`);
  writeSyntheticTree(dir, { cpus: 2, napis: 2, devices: 1, tick: 2 });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("serves /metrics sampled per scrape, /healthz, and refuses the rest", async () => {
    const ex = await startExporter({ host: "127.0.0.1", port: 0 }, { procRoot: dir });
    try {
      assert.equal(ex.address.address, "127.0.0.1");
      const base = `http://127.0.0.1:${ex.address.port}`;
      const m = await fetch(`${base}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const a = await m.text();
      assert.match(
        a,
        /^napilab_napi_thread_cpu_seconds_total\{device="eth0",queue="0",napi_id="8193"\} 0\.4$/m,
      );
      // the next scrape reads the files again
      writeSyntheticTree(dir, { cpus: 2, napis: 2, devices: 1, tick: 3 });
      const b = await (await fetch(`${base}/metrics`)).text();
      assert.match(
        b,
        /^napilab_napi_thread_cpu_seconds_total\{device="eth0",queue="0",napi_id="8193"\} 0\.6$/m,
      );
      assert.match(b, /^napilab_scrape_duration_seconds \d/m);
      assert.equal(await (await fetch(`${base}/healthz`)).text(), "ok\n");
      assert.equal((await fetch(`${base}/other`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: "DELETE" })).status, 405);
      // a second exporter on the same address: a one-line input error, nothing left listening
      await assert.rejects(
        startExporter({ host: "127.0.0.1", port: ex.address.port }, { procRoot: dir }),
        (e: Error) => e instanceof InputError && /address in use/.test(e.message),
      );
    } finally {
      await ex.close();
    }
  });
});
