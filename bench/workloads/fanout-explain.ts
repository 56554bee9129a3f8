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

type Profiler = 'v8' | 'perf';

/**
 * One profiled session's measured phase: time by stage (the main thread's by V8, or the whole
 * process's CPU by perf), the messages published meanwhile, and the process's CPU per publish.
 */
interface Profiled {
  readonly stages: Map<string, number>;
  readonly published: number;
  readonly cpuPerPublish: number;
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

/** One session of `v` under `profiler`; null if perf could not sample it. */
async function profiled(
  ctx: Context,
  v: Variant<{ receiver: Receiver }>,
  round: number,
  profiler: Profiler,
): Promise<Profiled | null> {
  const withPerf = profiler === 'perf';
  // One profiler at a time: V8's sampler costs the process CPU that perf would count.
  const pctx: Context = { ...ctx, opts: { ...ctx.opts, profile: !withPerf, findMax: false } };
  const perfFile = join(ctx.workDir, `perf-${v.target}-${round}.data`);
  const { step, perfOk } = await withSession(
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
      const steps = (raw as SessionRaw).steps;
      const last = steps[steps.length - 1];
      if (last === undefined) throw new Error('no measured phase');
      return { step: last, perfOk };
    },
    undefined,
    keepsRateLimits(busiestSessionRate(ctx.opts)),
  );
  const measured = { published: step.result.published, cpuPerPublish: step.metrics.cpuPerPublish };
  if (withPerf) return perfOk ? { stages: perfStages(perfFile), ...measured } : null;
  const file = join(ROOT, 'bench', 'results', profileFileName(pctx, v, -1 - round));
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  return { stages: stageTimes(profile, { startUs: step.startUs, endUs: step.endUs }), ...measured };
}

export interface Explanation {
  /** The markdown table, with a line saying how it was measured. */
  readonly text: string;
  /** The biggest differences, one line: what a missed CPU goal is bounded by. */
  readonly bound: string;
}

/** What the sessions of one server under one profiler measured together; null if none did. */
function sum(runs: readonly (Profiled | null)[]): Profiled | null {
  const done = runs.filter((r): r is Profiled => r !== null);
  if (done.length === 0) return null;
  const stages = new Map<string, number>();
  for (const r of done) for (const [k, us] of r.stages) stages.set(k, (stages.get(k) ?? 0) + us);
  const published = done.reduce((n, r) => n + r.published, 0);
  const cpu = done.reduce((n, r) => n + r.cpuPerPublish * r.published, 0);
  return { stages, published, cpuPerPublish: cpu / published };
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
  const modes: readonly Profiler[] = perfUsable() ? ['v8', 'perf'] : ['v8', 'v8'];
  const sessions: Array<{ profiler: Profiler; a: Profiled | null; b: Profiled | null }> = [];
  for (const [round, profiler] of modes.entries()) {
    const a = await profiled(ctx, qim, round, profiler);
    sessions.push({ profiler, a, b: await profiled(ctx, reference, round, profiler) });
  }
  const of = (profiler: Profiler, side: 'a' | 'b'): Profiled | null =>
    sum(sessions.filter((x) => x.profiler === profiler).map((x) => x[side]));
  const names = [qim.label, reference.label] as const;
  // A V8 session either profiles or throws: these are never null.
  const a = of('v8', 'a') as Profiled;
  const b = of('v8', 'b') as Profiled;
  const { table, differences } = stageTable(
    'stage (main thread)',
    names,
    [a.stages, b.stages],
    [a.published, b.published],
  );
  const pa = of('perf', 'a');
  const pb = of('perf', 'b');
  const cpu =
    pa === null || pb === null
      ? null
      : stageTable(
          'where the CPU went (perf)',
          names,
          [pa.stages, pb.stages],
          [pa.published, pb.published],
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
      cpu.table,
    );
  }
  const bound =
    cpu !== null
      ? `perf, µs CPU/publish over ${reference.label}: ${top(cpu.differences)} (V8 profile by stage below)`
      : `V8 profile, µs/publish over ${reference.label}: ${top(differences)}`;
  return { text: text.join('\n'), bound };
}
