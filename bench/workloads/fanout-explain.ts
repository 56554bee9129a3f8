/**
 * What bounds a missed fan-out CPU goal: more sessions of quick-im and of raw ws outside the
 * measured repetitions, profiled (so not in the table): V8's profile of the main thread by
 * stage of the send path (bench/lib/stages.ts) and, where `perf` runs, the whole process's CPU
 * by system call and binary (bench/lib/perf.ts); per message published, side by side.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Profile } from '../lib/cpuprofile.js';
import { ROOT } from '../lib/proc.js';
import { perfStages, perfUsable, startPerf } from '../lib/perf.js';
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
  /** `perf`'s CPU by stage over the measured phase (empty without perf). */
  readonly perf: Map<string, number>;
  readonly perfPublished: number;
}

interface SessionRaw {
  readonly steps: readonly StepRaw[];
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
  mode: 'v8' | 'perf',
): Promise<Profiled> {
  const withPerf = mode === 'perf';
  // One profiler at a time: V8's sampler costs the process CPU that perf would count.
  const pctx: Context = { ...ctx, opts: { ...ctx.opts, profile: !withPerf, findMax: false } };
  const perfFile = join(ctx.workDir, `perf-${v.target}-${round}.data`);
  const { last: step, perfPublished } = await withSession(
    pctx,
    v,
    -1 - round,
    (baseUrl) => fanoutConfig(pctx, baseUrl, v.target, v.extra.receiver),
    300_000,
    async ({ server, gen }) => {
      // Set once the warm-up is over: perf samples the measured phase only.
      const perf: { run?: ReturnType<typeof startPerf> } = {};
      const { raw } = await measureFanout(
        pctx,
        `${v.label} (profiled)`,
        round,
        gen,
        { servers: [server.pid], backends: [] },
        () => {
          if (withPerf) perf.run = startPerf(server.pid, perfFile);
        },
      );
      const perfOk = (await perf.run?.stop()) ?? false;
      const session = raw as SessionRaw;
      const last = session.steps[session.steps.length - 1];
      if (last === undefined) throw new Error('no measured phase');
      const perfPublished = perfOk
        ? session.steps.reduce((n, st) => n + st.result.published, 0)
        : 0;
      return { last, perfPublished };
    },
    undefined,
    keepsRateLimits(busiestSessionRate(ctx.opts)),
  );
  if (withPerf) {
    return {
      stages: new Map(),
      published: 0,
      cpuPerPublish: step.metrics.cpuPerPublish,
      perf: perfPublished > 0 ? perfStages(perfFile) : new Map(),
      perfPublished,
    };
  }
  const file = join(ROOT, 'bench', 'results', profileFileName(pctx, v, -1 - round));
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  return {
    stages: stageTimes(profile, { startUs: step.startUs, endUs: step.endUs }),
    published: step.result.published,
    cpuPerPublish: step.metrics.cpuPerPublish,
    perf: new Map(),
    perfPublished: 0,
  };
}

export interface Explanation {
  /** The markdown table, with a line saying how it was measured. */
  readonly text: string;
  /** The biggest differences, one line: what a missed CPU goal is bounded by. */
  readonly bound: string;
}

/** Sums what the sessions of one server and one profiler measured. */
function sum(runs: readonly Profiled[]): Profiled {
  const stages = new Map<string, number>();
  const perf = new Map<string, number>();
  for (const r of runs) {
    for (const [k, us] of r.stages) stages.set(k, (stages.get(k) ?? 0) + us);
    for (const [k, us] of r.perf) perf.set(k, (perf.get(k) ?? 0) + us);
  }
  const published = runs.reduce((n, r) => n + r.published, 0);
  const cpu = runs.reduce((n, r) => n + r.cpuPerPublish * r.published, 0);
  const perfPublished = runs.reduce((n, r) => n + r.perfPublished, 0);
  return { stages, published, cpuPerPublish: cpu / published, perf, perfPublished };
}

/**
 * Runs `qim` and `reference` alternately outside the measured repetitions: one session each
 * with V8's profiler (the main thread by stage of the send path), then one each sampled by
 * `perf` (the whole process's CPU by system call and binary) — never both at once, since V8's
 * sampler costs CPU that perf would count. Without perf, two V8 sessions each.
 */
export async function explainFanout(
  ctx: Context,
  qim: Variant<{ receiver: Receiver }>,
  reference: Variant<{ receiver: Receiver }>,
): Promise<Explanation> {
  ctx.log('  profiled sessions (what bounds the CPU goals), outside the measured repetitions');
  const modes = perfUsable() ? (['v8', 'perf'] as const) : (['v8', 'v8'] as const);
  const as: Profiled[] = [];
  const bs: Profiled[] = [];
  for (const [round, mode] of modes.entries()) {
    as.push(await profiled(ctx, qim, round, mode));
    bs.push(await profiled(ctx, reference, round, mode));
  }
  const v8 = (runs: Profiled[]): Profiled => sum(runs.filter((r) => r.published > 0));
  const a = v8(as);
  const b = v8(bs);
  const pa = sum(as.filter((r) => r.perfPublished > 0));
  const pb = sum(bs.filter((r) => r.perfPublished > 0));
  const cpu =
    pa.perfPublished > 0 && pb.perfPublished > 0
      ? stageTable(
          [qim.label, reference.label],
          [pa.perf, pb.perf],
          [pa.perfPublished, pb.perfPublished],
        )
      : null;
  const { table, differences } = stageTable(
    [qim.label, reference.label],
    [a.stages, b.stages],
    [a.published, b.published],
  );
  const top = (list: typeof differences): string =>
    list
      .filter((d) => d.diff > 0)
      .slice(0, 4)
      .map((d) => `${d.stage} +${d.diff.toFixed(0)}`)
      .join(', ');
  const v8Sessions = modes.filter((m) => m === 'v8').length;
  const text: string[] = [
    `Where the time goes: ${v8Sessions === 1 ? 'one more session' : `${v8Sessions} more sessions`} ` +
      "of each with V8's profiler (`--cpu-prof`; not in the table above: profiling slows a " +
      `server, ${a.cpuPerPublish.toFixed(0)} and ${b.cpuPerPublish.toFixed(0)} µs/publish of ` +
      'process CPU here), the measured phase only, the main thread, µs per message published. ' +
      'This is wall time: a system call is charged until its thread runs again, so a socket ' +
      'write that wakes the receiver on a busy 2-core machine looks dearer than it is, and ' +
      'threads other than the main one are not seen.',
    '',
    table,
  ];
  if (cpu !== null) {
    text.push(
      '',
      'One more session of each sampled by Linux `perf` instead (`-e cpu-clock -F 999`, every ' +
        'thread, kernel included, the measured phase): CPU only, the kernel by system ' +
        'call (everything beneath it), the rest by binary; µs of CPU per message published. ' +
        'The V8 profiler was off, so this is the CPU the table above measures.',
      '',
      cpu.table.replace('stage (main thread)', 'where the CPU went (perf)'),
    );
  }
  const bound =
    cpu !== null
      ? `perf, µs CPU/publish over ${reference.label}: ${top(cpu.differences)} (V8 profile by stage below)`
      : `V8 profile, µs/publish over ${reference.label}: ${top(differences)}`;
  return { text: text.join('\n'), bound };
}
