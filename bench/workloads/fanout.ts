/**
 * `fanout`: R rooms × S members connected to each server; open-loop HTTP publishing at a fixed
 * rate. Server CPU comes from /proc/<pid>/stat over the measured window.
 */
import { cpuWindow, rssBytes } from '../lib/proc.js';
import type { Child, CpuWindow } from '../lib/proc.js';
import type { FanoutGenConfig, FanoutResult, Receiver, Target } from '../lib/protocol.js';
import type { Column } from '../lib/report.js';
import { monotonicMicros } from '../lib/stages.js';
import { fmt } from '../lib/stats.js';
import { targetTitles } from '../lib/targets.js';
import {
  DEFAULT_SEND_RATE,
  genBase,
  keepsRateLimits,
  logLevelVariants,
  repeat,
  selected,
  withSession,
} from './common.js';
import { checkFanoutGoals } from './fanout-goals.js';
import type { Options } from '../lib/args.js';
import type { Context, Variant, WorkloadOutput } from './common.js';

export const columns: Column[] = [
  { key: 'rate', title: 'target msg/s', digits: 0 },
  { key: 'deliveredPerSec', title: 'delivered/s', digits: 0 },
  { key: 'cpuPerPublish', title: 'server µs/publish', digits: 1 },
  { key: 'cpuPerDelivery', title: 'server µs/delivery', digits: 1 },
  { key: 'serverCpuPct', title: 'server CPU %', digits: 0 },
  { key: 'p50', title: 'p50 ms', digits: 2 },
  { key: 'p90', title: 'p90 ms', digits: 2 },
  { key: 'p99', title: 'p99 ms', digits: 2 },
  { key: 'max', title: 'max ms', digits: 1 },
  { key: 'lost', title: 'lost', digits: 0 },
  { key: 'duplicated', title: 'dup', digits: 0 },
  { key: 'publishFailed', title: 'publish failed', digits: 0 },
  { key: 'unanswered', title: 'unanswered at end', digits: 0 },
  { key: 'clientCpuPct', title: 'client CPU %', digits: 0 },
  { key: 'serverRssMiB', title: 'server RSS MiB', digits: 0 },
  { key: 'othersCpuPct', title: 'others CPU %', digits: 0 },
];

export const ratioKeys = [
  'cpuPerPublish',
  'totalCpuPerPublish',
  'cpuPerDelivery',
  'p50',
  'p99',
  'max',
  'serverRssMiB',
  'maxRate',
];

export const maxRateColumn: Column = { key: 'maxRate', title: 'max healthy msg/s', digits: 0 };

interface Measured {
  readonly result: FanoutResult;
  readonly cpu: CpuWindow;
  readonly serverRss: number;
  /** The phase on the monotonic clock, µs: a CPU profile's samples in it are the phase's. */
  readonly startUs: number;
  readonly endUs: number;
}

/** The processes a phase measures: quick-im's nodes, and PostgreSQL / NATS when used. */
export interface MeasuredPids {
  readonly servers: readonly number[];
  readonly backends: readonly number[];
}

/** Runs one phase and brackets it with the servers' (and backends') CPU time. */
async function phase(
  gen: Child,
  pids: MeasuredPids,
  id: number,
  rate: number,
  seconds: number,
  drainMs: number,
): Promise<Measured> {
  const window = cpuWindow(pids.servers, gen.pid, pids.backends);
  const startUs = monotonicMicros();
  gen.post({ type: 'run', phase: id, rate, seconds, drainMs });
  const timeout = seconds * 1000 + drainMs + 120_000;
  await gen.next('done', timeout);
  const endUs = monotonicMicros();
  const cpu = window();
  const serverRss = pids.servers.reduce((sum, pid) => sum + rssBytes(pid), 0);
  const { result } = await gen.next('result', 60_000);
  if (result.kind !== 'fanout') throw new Error('unexpected result');
  return { result, cpu, serverRss, startUs, endUs };
}

function metricsOf(m: Measured): Record<string, number> {
  const r = m.result;
  const seconds = r.windowMs / 1000;
  return {
    rate: r.rate,
    deliveredPerSec: r.unique / seconds,
    cpuPerPublish: m.cpu.server / r.published,
    cpuPerDelivery: m.cpu.server / r.unique,
    serverCpuPct: m.cpu.server / m.cpu.ms / 10,
    backendCpuPerPublish: m.cpu.backends / r.published,
    totalCpuPerPublish: (m.cpu.server + m.cpu.backends) / r.published,
    backendCpuPct: m.cpu.backends / m.cpu.ms / 10,
    p50: r.latencyMs.p50,
    p90: r.latencyMs.p90,
    p99: r.latencyMs.p99,
    max: r.latencyMs.max,
    lost: r.lost,
    duplicated: r.duplicated,
    publishFailed: r.publishFailed,
    unanswered: r.unanswered,
    clientCpuPct: m.cpu.client / m.cpu.ms / 10,
    othersCpuPct: m.cpu.others / m.cpu.ms / 10,
    serverRssMiB: m.serverRss / 2 ** 20,
  };
}

/** A step fails when p99 passes 200 ms or anything is lost, repeated or refused. */
function healthy(r: FanoutResult): boolean {
  return (
    r.latencyMs.p99 <= 200 &&
    r.lost === 0 &&
    r.duplicated === 0 &&
    r.publishFailed === 0 &&
    r.unanswered === 0 &&
    r.unique >= r.expected
  );
}

/**
 * The phases of one fan-out session: the warm-up, then one measured phase (or, with
 * --find-max, steps of rising rate until one is unhealthy). Returns the row's metrics.
 */
export async function measureFanout(
  ctx: Context,
  label: string,
  rep: number,
  gen: Child,
  pids: MeasuredPids,
  /** Called between the warm-up and the measured phase (to start a profiler, say). */
  afterWarmup?: () => void,
): Promise<{ metrics: Record<string, number>; raw: object }> {
  const o = ctx.opts;
  const steps = o.findMax ? o.maxSteps : 1;
  let id = 0;
  const warmup =
    o.warmup > 0 ? (await phase(gen, pids, id++, o.rate, o.warmup, o.drainMs)).result : null;
  afterWarmup?.();
  const tries: Measured[] = [];
  let best: Measured | null = null;
  for (let step = 0; step < steps; step++) {
    const rate = Math.round(o.rate * o.step ** step);
    const m = await phase(gen, pids, id++, rate, o.seconds, o.drainMs);
    tries.push(m);
    const r = m.result;
    const backends =
      pids.backends.length > 0 ? ` (+${fmt(m.cpu.backends / r.published, 1)} PostgreSQL/NATS)` : '';
    ctx.log(
      `  ${label} rep ${rep + 1}: ${fmt(rate, 0)} msg/s → ${fmt(r.unique / (r.windowMs / 1000), 0)} delivered/s, ` +
        `${fmt(m.cpu.server / r.published, 1)} µs/publish${backends}, p99 ${fmt(r.latencyMs.p99, 2)} ms, ` +
        `lost ${r.lost}, dup ${r.duplicated}, failed ${r.publishFailed}, unanswered ${r.unanswered}`,
    );
    if (!o.findMax) {
      best = m;
      break;
    }
    if (!healthy(r)) break;
    best = m;
  }
  const shown = best ?? (tries[0] as Measured);
  const metrics = metricsOf(shown);
  if (o.findMax) metrics.maxRate = best === null ? 0 : best.result.rate;
  return { metrics, raw: { warmup, steps: tries.map((t) => ({ ...t, metrics: metricsOf(t) })) } };
}

/**
 * The generator's configuration for the fan-out phases of one session (on several nodes when
 * `nodeUrls` names them). It lives long enough for the warm-up, every step and their drains.
 */
export function fanoutConfig(
  ctx: Context,
  baseUrl: string,
  target: Target,
  receiver: Receiver,
  nodeUrls?: readonly string[],
): FanoutGenConfig {
  const o = ctx.opts;
  const steps = o.findMax ? o.maxSteps : 1;
  const lifetimeMs = (o.warmup + o.seconds * steps) * 1000 + steps * o.drainMs + 600_000;
  return {
    kind: 'fanout',
    ...genBase(ctx, baseUrl, lifetimeMs),
    ...(nodeUrls === undefined ? {} : { nodeUrls }),
    target,
    receiver,
    rooms: o.rooms,
    members: o.members,
    payloadBytes: o.payload,
    maxInflight: 20_000,
  };
}

/** Messages per second the busiest publishing session sends: each room has one sender. */
export function busiestSessionRate(o: Options): number {
  const steps = o.findMax ? o.maxSteps : 1;
  return (o.rate * o.step ** (steps - 1)) / o.rooms;
}

/** What every fan-out table says about how it was measured. */
export function fanoutNotes(o: Options, connections: string): string[] {
  const notes = [
    `${o.rooms} rooms × ${o.members} members = ${o.rooms * o.members} connections ${connections}; ` +
      `HTTP POST publishing at ${o.rate} msg/s for ${o.seconds} s (after ${o.warmup} s warm-up), ` +
      `content ${o.payload} bytes; latency from the scheduled publish time to receipt. Lost: ` +
      `published (200) but not received by the end of the ${o.drainMs} ms drain; unanswered: ` +
      'publishes with no answer by then (the server fell behind the schedule).',
    'µs/publish and µs/delivery: server utime+stime (/proc/<pid>/stat) over the window ÷ messages ' +
      'published (200) or delivered (unique). CPU % are of one core; client = the generator process.',
  ];
  notes.push(
    keepsRateLimits(busiestSessionRate(o))
      ? "quick-im runs with its default settings (each room's sender stays within the default " +
          `--send-rate ${DEFAULT_SEND_RATE}/s).`
      : `quick-im runs with --send-rate 0 --join-rate 0: each room's sender publishes up to ` +
          `${Math.round(busiestSessionRate(o))} msg/s, over the default --send-rate ${DEFAULT_SEND_RATE}/s.`,
  );
  if (o.findMax) {
    notes.push(
      `--find-max: rate × ${o.step} per step of ${o.seconds} s until p99 > 200 ms or a loss; ` +
        'the row shows the last healthy step (or the first step if none was).',
    );
  }
  return notes;
}

export async function fanout(ctx: Context): Promise<WorkloadOutput> {
  const o = ctx.opts;
  const variants: Variant<{ receiver: Receiver }>[] = [];
  if (selected(ctx, 'quick-im')) {
    for (const receiver of o.receivers) {
      variants.push(
        ...logLevelVariants(ctx, (suffix) => `quick-im (${receiver}${suffix})`, { receiver }),
      );
    }
    if (o.baseline !== null) {
      // The other build runs with this run's flags: the same log level as the first row.
      variants.push({
        label: `quick-im (ws) @ ${o.baseline.label}`,
        target: 'quick-im',
        extra: { receiver: 'ws' },
        distDir: o.baseline.dist,
      });
    }
    if (o.noInsertRow) {
      variants.push({
        label: 'quick-im (ws, no message INSERT)',
        target: 'quick-im',
        extra: { receiver: 'ws' },
        noInsert: true,
      });
    }
  }
  for (const target of ['raw-ws', 'socketio', 'raw-ws-send'] as const) {
    // raw-ws-send, the per-socket `ws.send` variant, runs only when named in --targets.
    if (
      target === 'raw-ws-send' ? ctx.opts.targets?.includes(target) === true : selected(ctx, target)
    )
      variants.push({ label: targetTitles[target], target, extra: { receiver: 'ws' } });
  }
  const { rows, raw } = await repeat(ctx, variants, (v, rep) =>
    withSession(
      ctx,
      v,
      rep,
      (baseUrl) => fanoutConfig(ctx, baseUrl, v.target, v.extra.receiver),
      300_000,
      async ({ server, gen, ready }) => {
        const { metrics, raw } = await measureFanout(ctx, v.label, rep, gen, {
          servers: [server.pid],
          backends: [],
        });
        return { metrics, raw: { ready, fdLimit: server.fdLimit, ...raw } };
      },
      undefined,
      keepsRateLimits(busiestSessionRate(o)),
    ),
  );

  const shownColumns = o.findMax ? [maxRateColumn, ...columns] : columns;
  const { goals, explanation } = await checkFanoutGoals(ctx, variants, rows);
  const pairs = variants
    .filter((v) => v.target === 'quick-im')
    .flatMap((v) =>
      variants.filter((r) => r.target !== 'quick-im').map((r) => ({ num: v.label, den: r.label })),
    );
  return {
    columns: shownColumns,
    ratioColumns: shownColumns.filter((c) => ratioKeys.includes(c.key)),
    rows,
    pairs,
    raw,
    notes: fanoutNotes(o, 'per server'),
    goals,
    ...(explanation === undefined ? {} : { explanation }),
  };
}
