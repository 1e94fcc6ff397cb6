/**
 * `npm run bench`: runs every benchmark script in this folder (each prints its own figures) one
 * after another, so that no two compete for the machine's cores.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const scripts = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run-all.ts")
  .sort();
let failed = 0;
for (const script of scripts) {
  process.stdout.write(`\n== ${script} ==\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, script)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
if (scripts.length === 0) process.stdout.write("no benchmark scripts yet\n");
process.exitCode = failed === 0 ? 0 : 1;
