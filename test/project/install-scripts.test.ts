/**
 * npm 11 skips the install scripts of dependencies that package.json's allowScripts does not cover,
 * and warns about them on every fresh `npm install`. Every locked package with an install script
 * must be decided on (allowed or denied) in package.json, so a fresh clone installs quietly.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

interface Lock {
  packages: Record<string, { version?: string; hasInstallScript?: boolean; optional?: boolean }>;
}

describe("npm install on a fresh clone", () => {
  it("every dependency with an install script is covered by allowScripts", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
      allowScripts?: Record<string, boolean>;
    };
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as Lock;
    const decided = Object.keys(pkg.allowScripts ?? {}).map((k) => k.replace(/(.)@.*$/, "$1"));
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== "" && p.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, ""));
    assert.ok(withScripts.length > 0, "the lock file records install scripts (koffi, esbuild)");
    for (const name of withScripts)
      assert.ok(decided.includes(name), `${name} is not in package.json allowScripts`);
  });
});
