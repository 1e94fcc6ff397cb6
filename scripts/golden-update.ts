/**
 * `npm run golden:update`: rerun the golden configurations (test/golden/cases.ts) and rewrite
 * test/golden/*.json. Only for a deliberate model change: a speed change must leave them unchanged.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FLOOD_CASES, floodGolden, seedGolden } from "../test/golden/cases.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "golden");
for (const name of Object.keys(FLOOD_CASES)) {
  const t0 = performance.now();
  writeFileSync(join(dir, `flood-${name}.json`), floodGolden(name));
  process.stdout.write(`flood-${name}.json (${Math.round(performance.now() - t0)} ms)\n`);
}
const t0 = performance.now();
writeFileSync(join(dir, "seed-90-cells.json"), seedGolden());
process.stdout.write(`seed-90-cells.json (${Math.round(performance.now() - t0)} ms)\n`);
