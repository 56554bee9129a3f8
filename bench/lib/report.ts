import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './proc.js';
import { fmtSpread, spread } from './stats.js';
import type { Spread } from './stats.js';

export interface Column {
  readonly key: string;
  readonly title: string;
  readonly digits?: number;
}

/** One table row: a target (or variant) with its metrics for each repetition (null: failed). */
export interface Row {
  readonly label: string;
  readonly reps: Array<Readonly<Record<string, number>> | null>;
}

export interface RatioPair {
  readonly num: string;
  readonly den: string;
}

function values(row: Row, key: string): number[] {
  return row.reps.map((r) => (r === null ? NaN : (r[key] ?? NaN)));
}

export function summarize(row: Row, columns: readonly Column[]): Record<string, Spread> {
  return Object.fromEntries(columns.map((c) => [c.key, spread(values(row, c.key))]));
}

/** Markdown: one line per row, each cell `median (min–max)` over the repetitions. */
export function markdownTable(columns: readonly Column[], rows: readonly Row[]): string {
  const head = `| target | ${columns.map((c) => c.title).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '--:').join('|')}|`;
  const lines = rows.map((row) => {
    const cells = columns.map((c) => fmtSpread(spread(values(row, c.key)), c.digits));
    const failed = row.reps.filter((r) => r === null).length;
    return `| ${row.label}${failed > 0 ? ` (${failed} failed)` : ''} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...lines].join('\n');
}

/** Per-repetition ratios num/den (same run), summarized as median (min–max). */
export function ratios(
  columns: readonly Column[],
  rows: readonly Row[],
  pairs: readonly RatioPair[],
): Record<string, Record<string, Spread>> {
  const byLabel = new Map(rows.map((r) => [r.label, r]));
  const out: Record<string, Record<string, Spread>> = {};
  for (const { num, den } of pairs) {
    const a = byLabel.get(num);
    const b = byLabel.get(den);
    if (!a || !b) continue;
    const cells: Record<string, Spread> = {};
    for (const c of columns) {
      const av = values(a, c.key);
      const bv = values(b, c.key);
      cells[c.key] = spread(av.map((x, i) => x / (bv[i] ?? NaN)));
    }
    out[`${num} / ${den}`] = cells;
  }
  return out;
}

export function ratioTable(
  columns: readonly Column[],
  table: Record<string, Record<string, Spread>>,
): string {
  const names = Object.keys(table);
  if (names.length === 0) return '';
  const head = `| ratio | ${names.join(' | ')} |`;
  const rule = `|---|${names.map(() => '--:').join('|')}|`;
  const lines = columns.map((c) => {
    const cells = names.map((n) => {
      const s = table[n]?.[c.key];
      return s ? fmtSpread(s, 2) + (s.n > 0 ? '×' : '') : '–';
    });
    return `| ${c.title} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...lines].join('\n');
}

export function machine(): Record<string, string | number> {
  const c = cpus();
  return {
    cpuModel: c[0]?.model ?? 'unknown',
    cpus: c.length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
  };
}

/** Writes bench/results/<workload>-<timestamp>.json and returns its path. */
export function writeResults(workload: string, startedAt: Date, payload: object): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${workload}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}
