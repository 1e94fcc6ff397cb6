/**
 * The policy engine: a declared NAPI policy (YAML) checked, compared with the host, applied, and
 * kept applied. Modules: schema (shape), load (file -> Policy with positions), host (snapshot of
 * one namespace), plan (diff, pure), apply (reconcile), watch (kernel notifications), keep (loop).
 */
export { type ActionLog, type ReconcileResult, reconcile } from "./apply.js";
export { type HostDevice, type HostNapi, HostSession, type HostState, napiLabel } from "./host.js";
export { DEFAULT_RESCAN_MS, type KeepEvents, PolicyKeeper } from "./keep.js";
export { formatPath, loadPolicy, parsePolicy } from "./load.js";
export { type Action, describeAction, diffRows, type Plan, planPolicy, policyMatchesDevice } from "./plan.js";
export { POLICY_MAX_BYTES, type Policy, type PolicyRule } from "./schema.js";
export { NetlinkWatcher, type WatchEvent } from "./watch.js";
