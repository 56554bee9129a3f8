/**
 * `npm run docs:settings`: rewrites the README's settings table from the settings table in
 * `src/config/fields.ts` (the README test checks they agree). Prettier aligns it afterwards.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fields } from '../src/config/fields.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const lines = readme.split('\n');
const header = lines.findIndex((l) => /^\|\s*flag\s*\|\s*variable\s*\|/.test(l));
if (header === -1) throw new Error('README: the settings table (| flag | variable | …) is missing');
let end = header + 2;
while (end < lines.length && lines[end]!.startsWith('|')) end++;
const rows = fields.map(
  (f) =>
    `| \`--${f.flag}\` | \`${f.env}\` | ${f.fallback === '' ? 'none' : `\`${f.fallback}\``} | ${f.doc} |`,
);
lines.splice(
  header,
  end - header,
  '| flag | variable | default | meaning |',
  '| --- | --- | --- | --- |',
  ...rows,
);
writeFileSync(path, lines.join('\n'));
