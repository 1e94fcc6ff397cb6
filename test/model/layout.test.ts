// The model's shape: kernel mechanisms (src/model/kernel) never import a scenario
// (src/model/scenarios), so a new scenario never has to touch a mechanism file.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../../src/model/", import.meta.url).pathname;
const imports = (file: string) =>
  [...readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map(
    (m) => m[1] as string,
  );

test("no kernel mechanism imports a scenario or anything outside model and core", () => {
  const files = readdirSync(join(root, "kernel")).filter((f) => f.endsWith(".ts"));
  assert.ok(files.length > 10, "the mechanisms live in src/model/kernel");
  for (const f of files)
    for (const spec of imports(join(root, "kernel", f))) {
      if (!spec.startsWith(".")) continue;
      assert.ok(!spec.includes("scenarios/"), `kernel/${f} imports scenario ${spec}`);
      assert.ok(
        spec.startsWith("./") || spec === "../profile.js" || spec.startsWith("../../core/"),
        `kernel/${f} imports ${spec}, outside the mechanisms, profiles and core`,
      );
    }
});

test("the profile reader imports no scenario", () => {
  for (const spec of imports(join(root, "profile.ts"))) assert.ok(!spec.includes("scenarios/"), spec);
});
