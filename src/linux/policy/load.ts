/**
 * Read a policy file: size limit, YAML parse (keeping positions through a LineCounter), schema
 * validation, then the checks that need this host (CPUs it has). Every error is one InputError
 * naming `file:line:col`, the field's path and what is wrong.
 */
import { readFileSync, statSync } from "node:fs";
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { InputError } from "../../core/errors.js";
import { formatCpuList } from "../../core/units.js";
import { onlineCpus } from "../cpus.js";
import { POLICY_MAX_BYTES, type Policy, type PolicyRule, policyFileSchema, toSched } from "./schema.js";

type Path = (string | number)[];

/** `rules[0].sched.prio` from a path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(top level)" : out;
}

interface Located {
  file: string;
  lc: LineCounter;
  doc: ReturnType<typeof parseDocument>;
}

/** The node at a path, or the deepest existing ancestor (a missing key is reported at its map). */
function nodeAt(loc: Located, path: Path): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = loc.doc.getIn(path.slice(0, n), true);
    if (node && typeof node === "object" && "range" in node) return node as Node;
  }
  return loc.doc.contents ?? undefined;
}

function position(loc: Located, offset: number | undefined): string {
  if (offset === undefined) return loc.file;
  const { line, col } = loc.lc.linePos(offset);
  return `${loc.file}:${line}:${col}`;
}

/** The key node of `key` inside the map at `path` (where an unknown key is reported). */
function keyOffset(loc: Located, path: Path, key: string): number | undefined {
  const map = loc.doc.getIn(path, true);
  if (!isMap(map)) return undefined;
  for (const item of map.items)
    if (isPair(item) && isScalar(item.key) && String(item.key.value) === key) return item.key.range?.[0];
  return undefined;
}

function issueError(loc: Located, issue: z.core.$ZodIssue, more: number): InputError {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  const suffix = more > 0 ? ` (and ${more} more problem${more > 1 ? "s" : ""}: fix this one first)` : "";
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] as string;
    const at = position(loc, keyOffset(loc, path, key));
    return new InputError(`${at}: ${formatPath([...path, key])}: unknown key '${key}'${suffix}`);
  }
  const node = nodeAt(loc, path);
  const at = position(loc, node?.range?.[0]);
  let message = issue.message;
  if (issue.code === "invalid_type" && /received undefined/.test(message)) message = "required, but missing";
  return new InputError(`${at}: ${formatPath(path)}: ${message}${suffix}`);
}

/** Parse and validate policy text; `file` names it in errors. `cpus` are the host's online CPUs. */
export function parsePolicy(text: string, file: string, cpus: readonly number[] = onlineCpus()): Policy {
  if (Buffer.byteLength(text) > POLICY_MAX_BYTES)
    throw new InputError(`${file}: policy file larger than ${POLICY_MAX_BYTES / 1024} KiB`);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const loc: Located = { file, lc, doc };
  const yamlError = doc.errors[0];
  if (yamlError) {
    const at = position(loc, yamlError.pos[0]);
    throw new InputError(`${at}: not valid YAML: ${yamlError.message.split("\n")[0]}`);
  }
  const parsed = policyFileSchema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) {
    // an unknown key explains most other issues (a typo'd required key): report it first
    const issues = [...parsed.error.issues].sort(
      (a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"),
    );
    const [first, ...rest] = issues;
    throw issueError(loc, first as z.core.$ZodIssue, rest.length);
  }
  const p = parsed.data;
  const online = new Set(cpus);
  const fail = (path: Path, message: string, key?: string): never => {
    const offset = key === undefined ? nodeAt(loc, path)?.range?.[0] : keyOffset(loc, path, key);
    throw new InputError(`${position(loc, offset)}: ${formatPath(key ? [...path, key] : path)}: ${message}`);
  };
  const checkHas = (list: number[] | undefined, path: Path) => {
    const bad = (list ?? []).filter((c) => !online.has(c));
    if (bad.length > 0)
      fail(
        path,
        `names CPU ${formatCpuList(bad)}, which this host does not have online (online: ${formatCpuList([...online])})`,
      );
  };
  checkHas(p["avoid-cpus"], ["avoid-cpus"]);
  const rules: PolicyRule[] = p.rules.map((r, index) => {
    checkHas(r.cpus, ["rules", index, "cpus"]);
    checkHas(r["avoid-cpus"], ["rules", index, "avoid-cpus"]);
    const avoid = new Set([...(p["avoid-cpus"] ?? []), ...(r["avoid-cpus"] ?? [])]);
    let cpuSet: number[] | undefined;
    if (r.cpus !== undefined || r.spread || avoid.size > 0) {
      const base = r.cpus ?? [...online].sort((a, b) => a - b);
      cpuSet = base.filter((c) => !avoid.has(c));
      if (cpuSet.length === 0)
        fail(["rules", index], "no CPU left once the avoided CPUs are taken out of the rule's CPUs");
    }
    if (r.sched?.policy === "deadline" && avoid.size > 0)
      fail(
        ["rules", index, "sched"],
        "a SCHED_DEADLINE kthread must keep every CPU: avoid-cpus cannot apply",
      );
    if (
      r.threaded === undefined &&
      r.cpus === undefined &&
      !r.spread &&
      r.sched === undefined &&
      avoid.size === 0
    )
      fail(["rules", index], "the rule declares nothing: give threaded, cpus, spread, avoid-cpus or sched");
    const node = nodeAt(loc, ["rules", index]);
    const rule: PolicyRule = {
      index,
      where: position(loc, node?.range?.[0]),
      device: r.device,
      spread: r.spread,
    };
    if (r.driver !== undefined) rule.driver = r.driver;
    if (r.queues !== undefined) rule.queues = r.queues;
    if (r.threaded !== undefined) rule.threaded = r.threaded;
    if (cpuSet !== undefined) rule.cpus = cpuSet;
    if (r.sched !== undefined) rule.sched = toSched(r.sched);
    return rule;
  });
  const policy: Policy = { version: 1, source: file, rules };
  if (p.netns !== undefined) policy.netns = p.netns;
  if (p.rescan !== undefined) policy.rescanNs = p.rescan;
  return policy;
}

/** Read and validate a policy file (exit-2 errors for a missing, oversized or malformed file). */
export function loadPolicy(file: string, cpus?: readonly number[]): Policy {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new InputError(`${file}: not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      `${file}: cannot read the policy file (${code === "ENOENT" ? "no such file" : code})`,
    );
  }
  if (size > POLICY_MAX_BYTES)
    throw new InputError(`${file}: policy file larger than ${POLICY_MAX_BYTES / 1024} KiB`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new InputError(`${file}: cannot read the policy file (${(err as NodeJS.ErrnoException).code})`);
  }
  return parsePolicy(text, file, cpus);
}
