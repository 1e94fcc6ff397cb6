/**
 * The project carries its own docs: README and docs/ never point outside the repository (the seed
 * is told in docs/seed.md), and every relative link resolves to a file of the repository.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? markdownFiles(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : [],
  );
}

const FILES = ["README.md", ...markdownFiles("docs")];

describe("the project's own docs", () => {
  it("nothing points outside the repository", () => {
    for (const file of FILES) assert.doesNotMatch(readFileSync(file, "utf8"), /\.\.\/shared/, file);
  });
  it("every relative link resolves", () => {
    for (const file of FILES) {
      for (const [, target] of readFileSync(file, "utf8").matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (!target || /^[a-z]+:/.test(target)) continue;
        assert.ok(
          existsSync(resolve(dirname(file), target)),
          `${file} links to ${target}, which does not exist`,
        );
      }
    }
  });
  it("the seed's account is in docs/seed.md, with its calibration table, and the README points there", () => {
    const seed = readFileSync("docs/seed.md", "utf8");
    assert.match(seed, /\| 1\/1 +\| 746 +\| 901 \(\+20%\) +\| 1024 \(\+37%\) +\|/);
    assert.equal(seed.match(/^\| \d+\/\d+ /gm)?.length, 20, "the 20 rows of the seed's table");
    assert.match(readFileSync("README.md", "utf8"), /\(docs\/seed\.md\)/);
  });
});
