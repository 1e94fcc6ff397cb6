/** Re-reading kept-open files: fresh content each time, big files whole, vanished files undefined. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";
import { ProcFiles, readProcText } from "../../src/observe/proc-files.js";

describe("ProcFiles", () => {
  const dir = mkdtempSync(`${tmpdir()}/napilab-observe-files-`);
  it("re-reads a kept-open file from the start and sees new content", () => {
    const f = new ProcFiles();
    writeFileSync(`${dir}/a`, "first version, long\n");
    assert.equal(f.read(`${dir}/a`), "first version, long\n");
    writeFileSync(`${dir}/a`, "second\n");
    assert.equal(f.read(`${dir}/a`), "second\n");
    assert.equal(f.read(`${dir}/a`, true), "second\n");
    f.close();
  });

  it("reads files larger than its buffer whole, in both modes", () => {
    const big = `${"x".repeat(99)}\n`.repeat(2000); // 200 kB
    writeFileSync(`${dir}/big`, big);
    const f = new ProcFiles();
    assert.equal(f.read(`${dir}/big`), big);
    assert.equal(f.read(`${dir}/big`, true), big);
    assert.equal(readProcText(`${dir}/big`), big);
    f.close();
  });

  it("returns undefined for a missing file and drops files not read since the last sweep", () => {
    const f = new ProcFiles();
    assert.equal(f.read(`${dir}/missing`), undefined);
    writeFileSync(`${dir}/b`, "b\n");
    assert.equal(f.read(`${dir}/b`), "b\n");
    f.sweep(); // b was read: kept
    f.sweep(); // not read since: closed
    rmSync(`${dir}/b`);
    // a closed entry is opened again on demand, and now the file is gone
    assert.equal(f.read(`${dir}/b`), undefined);
    f.close();
  });

  it("reads a live task's /proc files like readFileSync does", () => {
    const f = new ProcFiles();
    const a = f.read(`/proc/${process.pid}/schedstat`, true);
    assert.match(a ?? "", /^\d+ \d+ \d+\n$/);
    const b = f.read("/proc/stat", true);
    assert.match(b ?? "", /^cpu /);
    assert.match(b ?? "", /\nctxt \d+\n/); // the end of the file is there too
    f.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
