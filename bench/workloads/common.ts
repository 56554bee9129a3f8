import { fields } from '../../src/config/fields.js';
import type { Options } from '../lib/args.js';
import type { Goal } from '../lib/goals.js';
import { machineBusyPct, startGenerator } from '../lib/proc.js';
import type { Child } from '../lib/proc.js';
import type { GenConfig, ReadyInfo, Target } from '../lib/protocol.js';
import type { Column, RatioPair, Row } from '../lib/report.js';
import { startServer } from '../lib/targets.js';
import type { RunningServer } from '../lib/targets.js';
import { join } from 'node:path';

/** `--pin`: where the server and the generator run (this machine has two cores). */
const PIN_SERVER_CPU = '0';
const PIN_GENERATOR_CPU = '1';

export interface Context {
  readonly opts: Options;
  /** Temporary directory for logs and data. */
  readonly workDir: string;
  readonly stamp: string;
  readonly log: (line: string) => void;
}

/** What a workload hands back to run.ts: the table, its ratios and the raw results. */
export interface WorkloadOutput {
  readonly columns: readonly Column[];
  readonly ratioColumns: readonly Column[];
  readonly rows: readonly Row[];
  readonly pairs: readonly RatioPair[];
  readonly raw: unknown[];
  readonly notes: readonly string[];
  /** The project's goals this workload checks (see bench/lib/goals.ts). */
  readonly goals?: readonly Goal[];
  /** More to print after the goals (markdown), e.g. what bounds a missed one. */
  readonly explanation?: string;
}

/** One line of the table: a label, the server it runs against, and its own settings. */
export interface Variant<V = object> {
  readonly label: string;
  readonly target: Target;
  readonly extra: V;
  /** quick-im's `--log-level` for this row (`default`: none); the first of `--log-level` when unset. */
  readonly logLevel?: string;
  /** quick-im without its message INSERT (measurement only; see quick-im-no-insert.mjs). */
  readonly noInsert?: boolean;
  /** Runs quick-im from this `dist/` (another build, `--baseline`) instead of this tree's. */
  readonly distDir?: string;
}

/** quick-im's default `--send-rate`, from its settings table: messages per second one session may send. */
export const DEFAULT_SEND_RATE = Number(fields.find((f) => f.key === 'sendRate')?.fallback);

/**
 * Whether quick-im keeps its default rate limits for a workload whose busiest session sends
 * `perSessionRate` messages per second: yes unless that is over the default send rate.
 */
export function keepsRateLimits(perSessionRate: number): boolean {
  return perSessionRate <= DEFAULT_SEND_RATE;
}

/** The rows of quick-im for each `--log-level` asked for, labelled by `label(suffix)`. */
export function logLevelVariants<V>(
  ctx: Context,
  label: (suffix: string) => string,
  extra: V,
): Variant<V>[] {
  return ctx.opts.logLevels.map((logLevel) => ({
    label: label(logLevel === 'default' ? '' : `, --log-level ${logLevel}`),
    target: 'quick-im' as const,
    extra,
    logLevel,
  }));
}

export function genBase(ctx: Context, baseUrl: string, lifetimeMs: number) {
  return {
    baseUrl,
    sourceIps: ctx.opts.sourceIps,
    connectConcurrency: 200,
    connectTimeoutMs: 15_000,
    lifetimeMs,
  };
}

export interface Session {
  /** The (first) server. */
  readonly server: RunningServer;
  /** Every node started for the session (one unless `nodes.count` said more). */
  readonly servers: readonly RunningServer[];
  readonly gen: Child;
  readonly ready: ReadyInfo;
}

/**
 * The name (in bench/results/) of the CPU profile of a session's server (`node`: `-node<i>` on
 * several); rep -1, -2, … are profiled sessions outside the measured repetitions.
 */
export function profileFileName(ctx: Context, variant: Variant, rep: number, node = ''): string {
  const slug = variant.label.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '');
  const run = rep < 0 ? `profiled${-rep}` : `rep${rep + 1}`;
  return `${ctx.opts.workload}-${slug}${node}-${run}-${ctx.stamp}.cpuprofile`;
}

/** How many quick-im processes a session starts, and the flags they share (cluster). */
export interface Nodes {
  readonly count: number;
  readonly flags: readonly string[];
}

/**
 * Starts the server (`nodes.count` of them) and the generator, waits for the generator's
 * setup, runs `fn`, and stops them all whatever happens.
 */
export async function withSession<T>(
  ctx: Context,
  variant: Variant,
  rep: number,
  config: (baseUrl: string, nodeUrls: readonly string[]) => GenConfig,
  setupTimeoutMs: number,
  fn: (s: Session) => Promise<T>,
  nodes: Nodes = { count: 1, flags: [] },
  rateLimits = true,
): Promise<T> {
  const slug = variant.label.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '');
  const servers: RunningServer[] = [];
  let gen: Child | null = null;
  try {
    for (let i = 0; i < nodes.count; i++) {
      const node = nodes.count === 1 ? '' : `-node${i + 1}`;
      servers.push(
        await startServer(variant.target, ctx.workDir, {
          logLevel: variant.logLevel ?? ctx.opts.logLevels[0] ?? 'default',
          rateLimits,
          noInsert: variant.noInsert === true,
          ...(variant.distDir === undefined ? {} : { distDir: variant.distDir }),
          extraFlags: [...ctx.opts.qimFlags, ...nodes.flags],
          profileName: ctx.opts.profile ? profileFileName(ctx, variant, rep, node) : null,
          cpus: ctx.opts.pin ? PIN_SERVER_CPU : null,
        }),
      );
    }
    const server = servers[0] as RunningServer;
    const cfg = config(
      server.baseUrl,
      servers.map((s) => s.baseUrl),
    );
    gen = startGenerator(
      cfg,
      join(ctx.workDir, `gen-${slug}-${rep}.log`),
      ctx.opts.pin ? PIN_GENERATOR_CPU : null,
    );
    const ready = (await gen.next('ready', setupTimeoutMs)).info;
    return await fn({ server, servers, gen, ready });
  } finally {
    if (gen !== null) {
      if (!gen.exited) {
        gen.post({ type: 'close' });
        await gen.waitExit(5000);
      }
      await gen.stop(10_000);
    }
    for (const s of servers) await s.stop();
  }
}

/** Runs every variant `reps` times, interleaved (rep 1 of all, then rep 2…), into table rows. */
export async function repeat<V>(
  ctx: Context,
  variants: readonly Variant<V>[],
  once: (
    variant: Variant<V>,
    rep: number,
  ) => Promise<{ metrics: Record<string, number>; raw: unknown }>,
): Promise<{ rows: Row[]; raw: unknown[] }> {
  const rows: Row[] = variants.map((v) => ({ label: v.label, reps: [] }));
  const raw: unknown[] = [];
  for (let rep = 0; rep < ctx.opts.reps; rep++) {
    for (const [i, v] of variants.entries()) {
      const row = rows[i] as Row;
      const tag = `rep ${rep + 1}/${ctx.opts.reps} ${v.label}`;
      try {
        let busy = await quietMachine(ctx);
        let r = await once(v, rep);
        for (let retry = 0; retry < ctx.opts.retryBusy && disturbed(ctx, r.metrics); retry++) {
          ctx.log(
            `  ${tag}: others used ${r.metrics.othersCpuPct?.toFixed(0)} % CPU: running again`,
          );
          raw.push({
            label: v.label,
            rep: rep + 1,
            ok: true,
            discarded: 'busy',
            ...(r.raw as object),
          });
          busy = await quietMachine(ctx);
          r = await once(v, rep);
        }
        row.reps.push({ ...r.metrics, busyBeforePct: busy });
        raw.push({
          label: v.label,
          rep: rep + 1,
          ok: true,
          busyBeforePct: busy,
          ...(r.raw as object),
        });
      } catch (err) {
        const message = (err as Error).message;
        ctx.log(`  ${tag}: FAILED: ${message}`);
        row.reps.push(null);
        raw.push({ label: v.label, rep: rep + 1, ok: false, error: message });
      }
    }
  }
  return { rows, raw };
}

/**
 * The machine's CPU use (all processes, % of all CPUs) over 0.5 s while none of ours runs;
 * with --wait-idle, waits up to that long for it to fall under 15 %.
 */
async function quietMachine(ctx: Context): Promise<number> {
  const deadline = Date.now() + ctx.opts.waitIdle * 1000;
  let busy = await machineBusyPct(500);
  for (let i = 0; i < 10_000 && busy >= 15 && Date.now() < deadline; i++) {
    if (i === 0)
      ctx.log(`  machine busy (${busy.toFixed(0)} % CPU): waiting up to ${ctx.opts.waitIdle} s`);
    busy = await machineBusyPct(1000);
  }
  if (busy >= 15) ctx.log(`  warning: machine busy before this run (${busy.toFixed(0)} % CPU)`);
  return busy;
}

function disturbed(ctx: Context, metrics: Record<string, number>): boolean {
  return (metrics.othersCpuPct ?? 0) > ctx.opts.maxOthers;
}

/** Whether `target` is selected by --targets (all when not given). */
export function selected(ctx: Context, target: Target): boolean {
  return ctx.opts.targets === null || ctx.opts.targets.includes(target);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
