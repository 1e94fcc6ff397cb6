import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  napiModeFromKernel,
  napiModeToKernel,
  parseNapiMode,
  parseSchedPolicyName,
  validateSchedPolicy,
} from "../../src/core/vocabulary.js";

describe("NAPI modes", () => {
  it("maps napilab modes to the kernel's threaded names and back", () => {
    for (const mode of ["softirq", "threaded", "busy-poll"] as const) {
      assert.equal(napiModeFromKernel(napiModeToKernel(mode)), mode);
    }
    assert.equal(napiModeToKernel("softirq"), "disabled");
    assert.equal(parseNapiMode("enabled"), "threaded");
    assert.equal(parseNapiMode("Busy-Poll"), "busy-poll");
    assert.throws(() => parseNapiMode("turbo"), /invalid NAPI mode 'turbo'/);
  });
});

describe("scheduling policies", () => {
  it("accepts kernel aliases", () => {
    assert.equal(parseSchedPolicyName("SCHED_FIFO"), "fifo");
    assert.equal(parseSchedPolicyName("normal"), "other");
    assert.throws(() => parseSchedPolicyName("idle-ish"), /invalid scheduling policy/);
  });
  it("enforces the kernel's bounds", () => {
    assert.throws(() => validateSchedPolicy({ policy: "other", nice: 20 }), /nice 20/);
    assert.throws(() => validateSchedPolicy({ policy: "fifo", priority: 0 }), /priority 0/);
    assert.throws(
      () => validateSchedPolicy({ policy: "deadline", runtimeNs: 2e6, deadlineNs: 1e6, periodNs: 3e6 }),
      /runtime must not exceed deadline/,
    );
    assert.throws(
      () => validateSchedPolicy({ policy: "deadline", runtimeNs: 1e6, deadlineNs: 4e6, periodNs: 3e6 }),
      /deadline must not exceed period/,
    );
    const ok = { policy: "deadline", runtimeNs: 1e6, deadlineNs: 2e6, periodNs: 3e6 } as const;
    assert.deepEqual(validateSchedPolicy(ok), ok);
  });
});
