import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fields } from '../../src/config/settings.js';
import { ErrorCode, UnavailableError, errorSpecs } from '../../src/domain/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the first table under `## <heading>`, as trimmed cells, header excluded. */
function tableUnder(heading: string): string[][] {
  const start = readme.search(new RegExp(`^## ${heading}\\s*$`, 'm'));
  assert.notEqual(start, -1, `README has no "## ${heading}" section`);
  const rest = readme.slice(start).split('\n').slice(1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  const section = end === -1 ? rest : rest.slice(0, end);
  const rows = section
    .filter((line) => line.trim().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((cell) => cell.trim()),
    );
  assert.ok(rows.length > 2, `no table under "## ${heading}"`);
  assert.match((rows[1] ?? []).join(''), /^[-:]+$/, 'second row is the separator');
  return rows.slice(2);
}

/** `` `x` `` → `x`; anything else unchanged. */
function unquote(cell: string): string {
  const match = /^`([^`]*)`$/.exec(cell);
  return match ? (match[1] as string) : cell;
}

describe('README error-code table', () => {
  const rows = tableUnder('Error codes');
  const catalogue = Object.values(ErrorCode) as number[];

  it('lists every code of the catalogue once, and no other', () => {
    const listed = rows.map((r) => Number(r[0]));
    assert.equal(new Set(listed).size, listed.length, 'a code is listed twice');
    assert.deepEqual([...listed].sort(), [...catalogue].sort());
  });

  it("gives each code the catalogue's HTTP status, and a meaning", () => {
    const unavailable = new UnavailableError();
    for (const [code, status, meaning] of rows) {
      const spec = errorSpecs[Number(code) as ErrorCode];
      assert.ok(spec, `${code} is not in the catalogue`);
      const expected = new Set([spec.status]);
      if (Number(code) === unavailable.code) expected.add(unavailable.status);
      const documented = new Set((status ?? '').match(/\d{3}/g)?.map(Number));
      assert.deepEqual(documented, expected, `HTTP status of ${code}`);
      assert.ok((meaning ?? '').length > 10, `meaning of ${code}`);
    }
  });
});

describe('README settings table', () => {
  const rows = tableUnder('Settings');

  it('lists every setting once, and no other', () => {
    const listed = rows.map((r) => unquote(r[0] ?? ''));
    assert.equal(new Set(listed).size, listed.length, 'a flag is listed twice');
    assert.deepEqual([...listed].sort(), fields.map((f) => `--${f.flag}`).sort());
  });

  it('gives each setting its variable, default and doc', () => {
    for (const f of fields) {
      const row = rows.find((r) => unquote(r[0] ?? '') === `--${f.flag}`);
      assert.ok(row, `--${f.flag}`);
      const [, variable, fallback, meaning] = row;
      assert.equal(unquote(variable ?? ''), f.env, `variable of --${f.flag}`);
      if (f.fallback === '') assert.equal(fallback, 'none', `default of --${f.flag}`);
      else assert.equal(fallback, `\`${f.fallback}\``, `default of --${f.flag}`);
      assert.equal(meaning, f.doc, `meaning of --${f.flag}`);
    }
  });

  it('states the precedence flag > env > config file > default', () => {
    assert.match(readme, /flag > env > `--config file\.json` > default/);
  });
});
