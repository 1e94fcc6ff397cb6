import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HostError, InputError } from "../../src/core/errors.js";
import { applyAll } from "../../src/linux/transaction.js";

describe("applyAll (all-or-nothing host changes)", () => {
  it("undoes the finished steps in reverse order when a later one fails", () => {
    const log: string[] = [];
    const step = (name: string, fail = false) => ({
      run: () => {
        if (fail) throw new HostError(`${name} refused`);
        log.push(`run ${name}`);
      },
      undo: () => log.push(`undo ${name}`),
    });
    assert.throws(
      () => applyAll([step("a"), step("b"), step("c", true), step("d")]),
      (e: Error) =>
        e instanceof HostError && /c refused; the 2 change\(s\) made before were restored/.test(e.message),
    );
    assert.deepEqual(log, ["run a", "run b", "undo b", "undo a"]);
  });

  it("rethrows the first error unchanged when nothing was applied yet", () => {
    const err = new InputError("bad");
    assert.throws(
      () =>
        applyAll([
          {
            run: () => {
              throw err;
            },
            undo: () => assert.fail("nothing to undo"),
          },
        ]),
      (e) => e === err,
    );
  });

  it("reports an undo that fails as well, and keeps the exit class of the error", () => {
    assert.throws(
      () =>
        applyAll([
          {
            run: () => {},
            undo: () => {
              throw new Error("thread gone");
            },
          },
          {
            run: () => {
              throw new InputError("second bad");
            },
            undo: () => {},
          },
        ]),
      (e: Error) =>
        e instanceof InputError &&
        /second bad; restoring the earlier changes failed too: thread gone/.test(e.message),
    );
  });

  it("runs every step when none fails", () => {
    let n = 0;
    applyAll([1, 2, 3].map(() => ({ run: () => void n++, undo: () => assert.fail("no undo") })));
    assert.equal(n, 3);
  });
});
