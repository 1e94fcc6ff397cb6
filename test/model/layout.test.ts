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

test("the host builder imports mechanisms, never a scenario", () => {
  const files = readdirSync(join(root, "host")).filter((f) => f.endsWith(".ts"));
  assert.deepEqual(files.sort(), ["build.ts", "spec.ts"]);
  for (const f of files)
    for (const spec of imports(join(root, "host", f))) {
      if (!spec.startsWith(".")) continue;
      assert.ok(
        spec.startsWith("./") ||
          spec.startsWith("../kernel/") ||
          spec === "../profile.js" ||
          spec.startsWith("../../core/"),
        `host/${f} imports ${spec}`,
      );
    }
});

// A scenario writes a HostSpec and calls buildHost: it constructs no mechanism object itself. From
// src/model/kernel it may import types, constants (UPPER_CASE) and the wire arithmetic, nothing else.
test("scenarios build their hosts only through host/build.ts", () => {
  const files = readdirSync(join(root, "scenarios")).filter((f) => f.endsWith(".ts"));
  const allowed = new Set(["udpFraming", "lineRateDps"]);
  for (const f of files) {
    const text = readFileSync(join(root, "scenarios", f), "utf8");
    assert.ok(!/\.createTask\(/.test(text), `scenarios/${f} creates a task itself`);
    for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+["']\.\.\/kernel\/[^"']+["']/g)) {
      if (m[1]) continue; // import type { ... }
      for (const raw of (m[2] as string).split(",")) {
        const name = raw.trim();
        if (name === "" || name.startsWith("type ")) continue;
        assert.ok(
          allowed.has(name) || /^[A-Z][A-Z0-9_]*$/.test(name),
          `scenarios/${f} imports ${name} from the mechanisms: build the host through host/build.ts`,
        );
      }
    }
    assert.ok(
      !/import\s+\*\s+as\s+\w+\s+from\s+["']\.\.\/kernel\//.test(text),
      `scenarios/${f}: namespace import`,
    );
  }
  for (const f of ["flood.ts", "seed.ts", "bench-host.ts"])
    assert.match(
      readFileSync(join(root, "scenarios", f), "utf8"),
      /buildHost\(/,
      `scenarios/${f} uses buildHost`,
    );
});
