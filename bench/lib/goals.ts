/**
 * The performance goals the project holds itself to, checked against one bench run: each goal
 * is a ratio or a figure from that run (median over its repetitions, with the range), the
 * bound it must stay under, and whether it did.
 */
import { fmtSpread } from './stats.js';
import type { Spread } from './stats.js';

export interface Goal {
  /** What is measured, e.g. "fan-out CPU per publish, quick-im / raw ws". */
  readonly name: string;
  /** The figure from this run (a ratio when `unit` is ×). */
  readonly measured: Spread;
  readonly unit: '×' | 'µs' | 'ms' | 'msg';
  /** Met when the median is at most this (or below it, when `strict`). */
  readonly bound: number;
  readonly strict?: boolean;
  /** For a miss: what bounds it, measured in the same run (a profile, a contention figure). */
  readonly why?: string;
}

export function met(g: Goal): boolean {
  const m = g.measured.median;
  return Number.isFinite(m) && (g.strict === true ? m < g.bound : m <= g.bound);
}

function shown(g: Goal, s: Spread): string {
  const digits = g.unit === '×' ? 2 : g.unit === 'msg' ? 3 : g.unit === 'µs' ? 1 : 2;
  return `${fmtSpread(s, digits)}${g.unit === '×' ? '×' : ` ${g.unit}`}`;
}

/**
 * The goals as a markdown table: goal, this run's median (range), met or MISSED, and for a
 * miss what bounds it.
 */
export function goalTable(goals: readonly Goal[]): string {
  const lines = goals.map((g) => {
    const bound = `${g.strict === true ? '<' : '≤'} ${g.bound}${g.unit === '×' ? '×' : ` ${g.unit}`}`;
    const why = met(g) ? '' : (g.why ?? '');
    return `| ${g.name} | ${bound} | ${shown(g, g.measured)} | ${met(g) ? 'met' : '**missed**'} | ${why} |`;
  });
  return [
    '| goal | bound | this run | | what bounds a miss |',
    '|---|--:|--:|---|---|',
    ...lines,
  ].join('\n');
}
