/**
 * The fan-out goals and, with `--explain`, what bounds a missed CPU goal (fanout-explain.ts).
 */
import { met } from '../lib/goals.js';
import type { Goal } from '../lib/goals.js';
import type { Receiver } from '../lib/protocol.js';
import { ratios } from '../lib/report.js';
import type { Row } from '../lib/report.js';
import { fmt } from '../lib/stats.js';
import { targetTitles } from '../lib/targets.js';
import type { Context, Variant } from './common.js';
import { explainFanout } from './fanout-explain.js';
import { columns } from './fanout.js';

/** The goals of one fan-out run; a missed CPU goal says what bounds it when `--explain` is on. */
export async function checkFanoutGoals(
  ctx: Context,
  variants: readonly Variant<{ receiver: Receiver }>[],
  rows: readonly Row[],
): Promise<{ goals: Goal[]; explanation?: string }> {
  const o = ctx.opts;
  let goals = fanoutGoals(variants, rows);
  let explanation: string | undefined;
  const qim = defaultQuickIm(variants);
  const reference = variants.find((v) => v.target === 'raw-ws');
  const cpuMissed = goals.some((g) => g.name.includes('CPU') && !met(g));
  if (o.explain && cpuMissed && qim !== undefined && reference !== undefined) {
    const e = await explainFanout(ctx, qim, reference);
    explanation = e.text;
    const storing = noInsertRatio(variants, rows, reference.label);
    goals = goals.map((g) =>
      g.name.includes('CPU') && !met(g) ? { ...g, why: `${e.bound}${storing}` } : g,
    );
  }
  return explanation === undefined ? { goals } : { goals, explanation };
}

/** quick-im over WebSocket at its default settings: the row the goals are about. */
function defaultQuickIm<V>(variants: readonly Variant<V>[]): Variant<V> | undefined {
  return variants.find(
    (v) =>
      v.target === 'quick-im' &&
      (v.logLevel ?? 'default') === 'default' &&
      v.noInsert !== true &&
      v.distDir === undefined,
  );
}

/** `; without its message INSERT: 1.11× raw ws` when the run has that row, else ''. */
function noInsertRatio(variants: readonly Variant[], rows: readonly Row[], den: string): string {
  const row = variants.find((v) => v.noInsert === true);
  if (row === undefined) return '';
  const r = ratios(
    columns.filter((c) => c.key === 'cpuPerPublish'),
    rows,
    [{ num: row.label, den }],
  )[`${row.label} / ${den}`]?.cpuPerPublish;
  return r === undefined ? '' : `; without its message INSERT: ${fmt(r.median, 2)}× ${den}`;
}

/**
 * The fan-out goals, for quick-im over WebSocket at its default settings (the first quick-im
 * row): CPU per published message at most 1.25× the lean raw-ws server's and below
 * Socket.IO's; median delivery latency at most 1.5× raw ws's.
 */
function fanoutGoals(variants: readonly Variant[], rows: readonly Row[]): Goal[] {
  const qim = defaultQuickIm(variants);
  if (qim === undefined) return [];
  const raw = targetTitles['raw-ws'];
  const sio = targetTitles.socketio;
  const r = ratios(
    columns.filter((c) => ['cpuPerPublish', 'p50'].includes(c.key)),
    rows,
    [
      { num: qim.label, den: raw },
      { num: qim.label, den: sio },
    ],
  );
  const goals: Goal[] = [];
  const vsRaw = r[`${qim.label} / ${raw}`];
  const vsSio = r[`${qim.label} / ${sio}`];
  if (vsRaw?.cpuPerPublish)
    goals.push({
      name: `fan-out CPU per publish, ${qim.label} / raw ws`,
      measured: vsRaw.cpuPerPublish,
      unit: '×',
      bound: 1.25,
    });
  if (vsSio?.cpuPerPublish)
    goals.push({
      name: `fan-out CPU per publish, ${qim.label} / Socket.IO`,
      measured: vsSio.cpuPerPublish,
      unit: '×',
      bound: 1,
      strict: true,
    });
  if (vsRaw?.p50)
    goals.push({
      name: `fan-out p50 latency, ${qim.label} / raw ws`,
      measured: vsRaw.p50,
      unit: '×',
      bound: 1.5,
    });
  return goals;
}
