/**
 * What bounds a missed fan-out CPU goal: one more session of quick-im and of raw ws, each
 * with V8's CPU profiler on, outside the measured repetitions (profiling slows a server, so
 * these runs are not in the table). The measured phase's samples of each server's main
 * thread, by stage of the send path (bench/lib/stages.ts), per message published, side by side.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Profile } from '../lib/cpuprofile.js';
import { ROOT } from '../lib/proc.js';
import { stageTable, stageTimes } from '../lib/stages.js';
import { keepsRateLimits, profileFileName, withSession } from './common.js';
import type { Context, Variant } from './common.js';
import type { Receiver } from '../lib/protocol.js';
import { busiestSessionRate, fanoutConfig, measureFanout } from './fanout.js';

/** One profiled session's main-thread time by stage, in the measured phase, and its publishes. */
interface Profiled {
  readonly stages: Map<string, number>;
  readonly published: number;
  readonly cpuPerPublish: number;
}

interface StepRaw {
  readonly startUs: number;
  readonly endUs: number;
  readonly result: { readonly published: number };
  readonly metrics: { readonly cpuPerPublish: number };
}

async function profiled(
  ctx: Context,
  v: Variant<{ receiver: Receiver }>,
  round: number,
): Promise<Profiled> {
  const pctx: Context = { ...ctx, opts: { ...ctx.opts, profile: true, findMax: false } };
  const step = await withSession(
    pctx,
    v,
    -1 - round,
    (baseUrl) => fanoutConfig(pctx, baseUrl, v.target, v.extra.receiver),
    300_000,
    async ({ server, gen }) => {
      const { raw } = await measureFanout(pctx, `${v.label} (profiled)`, round, gen, {
        servers: [server.pid],
        backends: [],
      });
      const steps = (raw as { steps: readonly StepRaw[] }).steps;
      const last = steps[steps.length - 1];
      if (last === undefined) throw new Error('no measured phase');
      return last;
    },
    undefined,
    keepsRateLimits(busiestSessionRate(ctx.opts)),
  );
  const file = join(ROOT, 'bench', 'results', profileFileName(pctx, v, -1 - round));
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  return {
    stages: stageTimes(profile, { startUs: step.startUs, endUs: step.endUs }),
    published: step.result.published,
    cpuPerPublish: step.metrics.cpuPerPublish,
  };
}

export interface Explanation {
  /** The markdown table, with a line saying how it was measured. */
  readonly text: string;
  /** The biggest differences, one line: what a missed CPU goal is bounded by. */
  readonly bound: string;
}

/** Sums what the rounds of one server measured. */
function sum(runs: readonly Profiled[]): Profiled {
  const stages = new Map<string, number>();
  for (const r of runs) for (const [k, us] of r.stages) stages.set(k, (stages.get(k) ?? 0) + us);
  const published = runs.reduce((n, r) => n + r.published, 0);
  const cpu = runs.reduce((n, r) => n + r.cpuPerPublish * r.published, 0);
  return { stages, published, cpuPerPublish: cpu / published };
}

/** Profiled sessions per server; alternated, so a slow spell of the machine hits both. */
const ROUNDS = 2;

/**
 * Profiles `qim` and `reference` (alternately, `ROUNDS` sessions each) and sets their stages
 * side by side, summed over the rounds.
 */
export async function explainFanout(
  ctx: Context,
  qim: Variant<{ receiver: Receiver }>,
  reference: Variant<{ receiver: Receiver }>,
): Promise<Explanation> {
  ctx.log('  profiled sessions (what bounds the CPU goals), outside the measured repetitions');
  const as: Profiled[] = [];
  const bs: Profiled[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    as.push(await profiled(ctx, qim, round));
    bs.push(await profiled(ctx, reference, round));
  }
  const a = sum(as);
  const b = sum(bs);
  const { table, differences } = stageTable(
    [qim.label, reference.label],
    [a.stages, b.stages],
    [a.published, b.published],
  );
  const top = differences
    .filter((d) => d.diff > 0)
    .slice(0, 4)
    .map((d) => `${d.stage} +${d.diff.toFixed(0)}`);
  const text = [
    `Where the time goes: ${ROUNDS} more sessions of each, alternated, with \`--cpu-prof\` (not in the table above: ` +
      `profiling slows a server — ${a.cpuPerPublish.toFixed(0)} and ${b.cpuPerPublish.toFixed(0)} ` +
      'µs/publish of process CPU in these runs), the measured phase only, main thread, µs per ' +
      'message published, over all those sessions. The system calls\u2019 own cost moves from run to run on this machine (±30 % seen). Time in the kernel on behalf of a system call counts to the stage ' +
      'that made it; threads other than the main one (libuv\u2019s pool, V8\u2019s) are not sampled.',
    '',
    table,
  ].join('\n');
  return { text, bound: `profile, µs/publish over ${reference.label}: ${top.join(', ')}` };
}
