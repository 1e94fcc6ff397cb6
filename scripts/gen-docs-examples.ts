/**
 * Rewrites every marked example in docs/commands/*.md with the output of a real run of its command
 * (see scripts/lib/doc-examples.ts for the markers). Run after `npm run build`, as root (the napi and
 * bench examples build namespaces): `npm run docs:examples`. `--check` only reports the examples
 * whose shape no longer matches, and exits 1 if there is one.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import {
  type Bed,
  createBed,
  docFiles,
  type Example,
  examplesOf,
  renderBlock,
  runExample,
  shapeOf,
} from "./lib/doc-examples.js";

const check = process.argv.includes("--check");
const isRoot = process.getuid?.() === 0;
let stale = 0;

for (const file of docFiles()) {
  const examples = examplesOf(file);
  if (examples.length === 0) continue;
  let bed: Bed | null = null;
  const outputs = new Map<Example, string>();
  try {
    for (const ex of examples) {
      const where = `${relative(process.cwd(), file)}:${ex.line + 1}`;
      if (ex.root && !isRoot) {
        process.stderr.write(`${where}: skipped (needs root): napilab ${ex.args.join(" ")}\n`);
        continue;
      }
      if (ex.bed && !bed) bed = createBed("gen");
      process.stderr.write(`${where}: napilab ${ex.args.join(" ")}\n`);
      const r = runExample(ex, ex.bed ? bed : null);
      if (r.code !== 0)
        throw new Error(`${where}: napilab ${ex.args.join(" ")} exited ${r.code}: ${r.stderr}`);
      outputs.set(ex, r.stdout);
      if (JSON.stringify(shapeOf(r.stdout)) !== JSON.stringify(shapeOf(ex.documented))) {
        stale++;
        process.stderr.write(`${where}: the documented output has another shape\n`);
      }
    }
  } finally {
    bed?.cleanup();
  }
  if (check) continue;
  // rewrite from the last block up, so that earlier line numbers stay valid
  const lines = readFileSync(file, "utf8").split("\n");
  for (const ex of [...examples].reverse()) {
    const output = outputs.get(ex);
    if (output === undefined) continue;
    const end = lines.indexOf("<!-- /example -->", ex.line);
    lines.splice(ex.line, end - ex.line + 1, ...renderBlock(ex, output));
  }
  writeFileSync(file, lines.join("\n"));
}
if (check && stale > 0) {
  process.stderr.write(`${stale} example(s) out of date: run npm run docs:examples\n`);
  process.exitCode = 1;
}
