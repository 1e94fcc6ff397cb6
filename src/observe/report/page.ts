/**
 * The HTML page: one self-contained file with the charts inlined as SVG, the figures behind them as
 * tables, and what produced it (command line, napilab version, date, kernel or profile). No script,
 * no external stylesheet, font or image: it opens offline and reads with JavaScript off.
 */
import { renderSvg } from "./render.js";
import type { DataTable, Section } from "./section.js";

/** What made the report; recorded at the top of the page. */
export interface ReportMeta {
  /** The command line that wrote the page, as typed (argv joined with shell quoting). */
  command: string;
  version: string;
  /** ISO 8601 UTC. */
  generatedAt: string;
  /** Kernel release of the machine that wrote the page. */
  kernel: string;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** Quote argv words that a shell would split or expand, so the command line can be pasted back. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto; padding: 16px 24px 48px;
  max-width: 1240px; color: #1a1a1a; background: #fff; line-height: 1.45; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 12px; border-top: 2px solid #ddd; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 16px; font-size: 14px; }
dl.meta dt { color: #555; }
dl.meta dd { margin: 0; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 13px; background: #f3f3f3; padding: 1px 4px;
  border-radius: 3px; overflow-wrap: anywhere; }
nav ul { margin: 4px 0; padding-left: 20px; }
ul.notes { font-size: 14px; padding-left: 20px; }
figure { margin: 20px 0 28px; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 14px; color: #333; max-width: 900px; margin-top: 6px; }
details { margin: 8px 0 16px; font-size: 13px; }
summary { cursor: pointer; color: #0b5394; }
table { border-collapse: collapse; margin-top: 6px; }
caption { text-align: left; font-weight: bold; padding-bottom: 4px; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f5f5f5; }
td:first-child, th:first-child { text-align: left; }
footer { margin-top: 40px; font-size: 12px; color: #666; }
`;

function renderTable(t: DataTable): string {
  const head = t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const rows = t.rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join("")}</tr>`)
    .join("\n");
  return (
    `<details><summary>${escapeHtml(t.caption)} (table, ${t.rows.length} rows)</summary>\n` +
    `<table><caption>${escapeHtml(t.caption)}</caption><thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody></table></details>`
  );
}

async function renderSection(s: Section, collected: string[]): Promise<string> {
  const facts = s.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("");
  const notes = s.notes.length
    ? `<ul class="notes">${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`
    : "";
  const figures: string[] = [];
  for (const c of s.charts) {
    const { svg, warnings } = await renderSvg(c);
    collected.push(...warnings.map((w) => `${c.id}: ${w}`));
    figures.push(
      `<figure class="chart" id="${c.id}">\n${svg}\n<figcaption>${escapeHtml(c.caption)}</figcaption>\n</figure>`,
    );
  }
  return [
    `<section id="${s.id}">`,
    `<h2>${escapeHtml(s.title)}</h2>`,
    `<dl class="meta">${facts}</dl>`,
    notes,
    ...figures,
    ...s.tables.map(renderTable),
    "</section>",
  ].join("\n");
}

/**
 * The whole page as one string. Chart warnings (spec problems, never the user's) go to `warnings`
 * when given, so tests can insist on none without the CLI printing them.
 */
export async function renderPage(
  title: string,
  sections: Section[],
  meta: ReportMeta,
  warnings: string[] = [],
): Promise<string> {
  const body: string[] = [];
  for (const s of sections) body.push(await renderSection(s, warnings));
  const toc =
    sections.length > 1
      ? `<nav><ul>${sections.map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a></li>`).join("")}</ul></nav>`
      : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="napilab ${escapeHtml(meta.version)}">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<dl class="meta">
<dt>command</dt><dd><code>${escapeHtml(meta.command)}</code></dd>
<dt>napilab</dt><dd>${escapeHtml(meta.version)}</dd>
<dt>written</dt><dd>${escapeHtml(meta.generatedAt)}</dd>
<dt>kernel</dt><dd>${escapeHtml(meta.kernel)} (of the machine that wrote this page; a bench section names the kernel it measured)</dd>
</dl>
${toc}
</header>
<main>
${body.join("\n")}
</main>
<footer>Written by napilab ${escapeHtml(meta.version)}. Charts: Vega-Lite, rendered to SVG when the page was written; the page loads nothing.</footer>
</body>
</html>
`;
}
