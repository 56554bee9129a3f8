import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Receiver, Target } from './protocol.js';

export type Workload = 'headline' | 'fanout' | 'connections' | 'send' | 'cluster';

export interface Options {
  readonly workload: Workload;
  readonly quick: boolean;
  readonly reps: number;
  readonly targets: readonly Target[] | null;
  // fanout
  readonly rooms: number;
  readonly members: number;
  readonly rate: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly drainMs: number;
  readonly receivers: readonly Receiver[];
  readonly findMax: boolean;
  /** A row of quick-im with its message INSERT skipped: what storing costs (measurement only). */
  readonly noInsertRow: boolean;
  /** Another checkout whose built `dist/` runs as one more quick-im row (before/after). */
  readonly baseline: { readonly dist: string; readonly label: string } | null;
  readonly step: number;
  readonly maxSteps: number;
  // cluster: node counts on PostgreSQL + NATS
  readonly nodes: readonly number[];
  /** Room r's members all connect to node r mod n (else member i to node i mod n). */
  readonly localRooms: boolean;
  // connections
  readonly count: number;
  readonly settleMs: number;
  // send
  readonly connections: number;
  // common
  readonly payload: number;
  readonly sourceIps: readonly string[];
  /**
   * quick-im's `--log-level` per row: `default` passes none (its own default, `info`, as a
   * user runs it); several give one row each.
   */
  readonly logLevels: readonly string[];
  readonly qimFlags: readonly string[];
  readonly profile: boolean;
  /**
   * fanout: when a CPU goal is missed, profile quick-im and raw ws once more and show what
   * bounds it (the headline run sets it).
   */
  readonly explain: boolean;
  /**
   * cluster: a row of one node alone carrying one node's share of the rooms and rate of the
   * largest cluster, the per-node goal's baseline (the headline run sets it).
   */
  readonly shareRow: boolean;
  /** Server on CPU 0, generator on CPU 1 (taskset), instead of sharing both. */
  readonly pin: boolean;
  /** Seconds to wait, before each run, for other work on the machine to calm down. */
  readonly waitIdle: number;
  /** Runs again (up to this many times) when others used more than `maxOthers` % CPU. */
  readonly retryBusy: number;
  readonly maxOthers: number;
}

export const usage = `usage: npm run bench [-- --readme] [common flags]
         the headline run: fanout, then cluster, then every goal checked; --readme writes
         the README's performance section from it
       npm run bench -- <fanout|connections|send|cluster> [flags]

common:      --quick  --reps N  --targets quick-im,raw-ws,socketio[,raw-ws-send,bare-fastify]  --payload BYTES
             --source-ips N (127.0.0.2…)  --log-level LEVEL[,…] (quick-im; a row each;
             default: none passed, quick-im's own default, info)
             --qim-flag "--name value" (repeatable)  --profile (servers run with --cpu-prof)
             --pin (server on CPU 0, generator on CPU 1, by taskset)
             --wait-idle S (wait for other load on the machine to calm down before each run)
             --retry-busy N --max-others PCT (rerun a run when other processes used > PCT % CPU)
fanout:      --rooms R  --members S  --rate MSG/S  --seconds S  --warmup S  --drain-ms MS
             --receiver ws|sse|poll[,…]  --no-insert-row  --baseline DIR (another built checkout: one more row)
             --explain (a missed CPU goal: quick-im and raw ws profiled once more, stages side by side)
             --find-max  --step FACTOR  --max-steps N
cluster:     the fanout flags (ws receivers; --rate defaults to 500)  --nodes N[,…] (default 1,2)
             --local-rooms (all of room r's members on node r mod n, which publishes it)
             --share-row (one node alone with one node's share of the largest cluster's rooms and
             rate: the per-node goal's baseline)
connections: --count N  --settle-ms MS
send:        --seconds S  --warmup S  --connections N  --members S`;

const flagSpec = {
  quick: { type: 'boolean' },
  'find-max': { type: 'boolean' },
  profile: { type: 'boolean' },
  explain: { type: 'boolean' },
  'share-row': { type: 'boolean' },
  readme: { type: 'boolean' },
  'no-insert-row': { type: 'boolean' },
  baseline: { type: 'string' },
  pin: { type: 'boolean' },
  'local-rooms': { type: 'boolean' },
  'wait-idle': { type: 'string' },
  'retry-busy': { type: 'string' },
  'max-others': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  reps: { type: 'string' },
  targets: { type: 'string' },
  rooms: { type: 'string' },
  members: { type: 'string' },
  rate: { type: 'string' },
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  'drain-ms': { type: 'string' },
  receiver: { type: 'string' },
  step: { type: 'string' },
  'max-steps': { type: 'string' },
  nodes: { type: 'string' },
  count: { type: 'string', short: 'n' },
  'settle-ms': { type: 'string' },
  connections: { type: 'string' },
  payload: { type: 'string' },
  'source-ips': { type: 'string' },
  'log-level': { type: 'string' },
  'qim-flag': { type: 'string', multiple: true },
} as const;

function num(
  v: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new Error(`--${name} must be a number ${min}..${max} (got ${v})`);
  }
  return n;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new Error(`--${name}: ${v} is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

/**
 * `--qim-flag "--name value"` as two words: parseArgs would refuse a value that starts with a
 * dash, so it becomes `--qim-flag=--name value`.
 */
function joinQimFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    if (a === '--qim-flag' && next !== undefined) {
      out.push(`--qim-flag=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** `--baseline DIR`: a checkout of quick-im with `npm run build` done; labelled by its commit. */
function baselineOf(dir: string | undefined): Options['baseline'] {
  if (dir === undefined) return null;
  const root = resolve(dir);
  const dist = join(root, 'dist');
  if (!existsSync(join(dist, 'main.js'))) {
    throw new Error(`--baseline ${dir}: no dist/main.js there (run npm run build in it)`);
  }
  const head = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const label = head.status === 0 ? head.stdout.trim() : basename(root);
  return { dist, label };
}

/** Parses `process.argv.slice(2)`; returns null after printing usage for --help. */
export function parseOptions(argv: readonly string[]): Options | null {
  const { values: v, positionals } = parseArgs({
    args: joinQimFlags(argv),
    options: flagSpec,
    allowPositionals: true,
    strict: true,
  });
  if (v.help) {
    console.log(usage);
    return null;
  }
  const workload = oneOf<Workload>(
    positionals[0] ?? 'headline',
    ['headline', 'fanout', 'connections', 'send', 'cluster'],
    'workload',
  );
  const quick = v.quick === true;
  const findMax = v['find-max'] === true;
  const targets =
    v.targets === undefined
      ? null
      : v.targets
          .split(',')
          .map((t) =>
            oneOf<Target>(
              t.trim(),
              ['quick-im', 'raw-ws', 'raw-ws-send', 'socketio', 'bare-fastify'],
              'targets',
            ),
          );
  const receivers = (v.receiver ?? 'ws')
    .split(',')
    .map((r) => oneOf<Receiver>(r.trim(), ['ws', 'sse', 'poll'], 'receiver'));
  const sourceCount = num(v['source-ips'], 'source-ips', 4, 1, 200);
  const isSend = workload === 'send';
  const defaultSeconds = isSend ? (quick ? 3 : 10) : findMax ? (quick ? 3 : 10) : quick ? 4 : 20;
  return {
    workload,
    quick,
    reps: num(v.reps, 'reps', quick || findMax ? 1 : 3, 1, 20),
    targets,
    rooms: num(v.rooms, 'rooms', quick ? 50 : 100, 1, 100_000),
    members: num(v.members, 'members', 10, 1, 1000),
    // On PostgreSQL + NATS a message costs about twice the embedded node's CPU in all (nodes,
    // postgres, nats-server): 2,000/s overloads this 2-core machine (healthy up to ~1,500).
    rate: num(v.rate, 'rate', workload === 'cluster' ? 500 : 2000, 1, 1_000_000),
    seconds: num(v.seconds, 'seconds', defaultSeconds, 0.5, 3600),
    warmup: num(v.warmup, 'warmup', isSend ? (quick ? 1 : 2) : quick ? 2 : 5, 0, 600),
    drainMs: num(v['drain-ms'], 'drain-ms', quick ? 2000 : 5000, 100, 120_000),
    receivers,
    findMax,
    noInsertRow: v['no-insert-row'] === true,
    baseline: baselineOf(v.baseline),
    step: num(v.step, 'step', 1.25, 1.01, 10),
    maxSteps: num(v['max-steps'], 'max-steps', 12, 1, 50),
    nodes: (v.nodes ?? '1,2').split(',').map((n) => num(n.trim(), 'nodes', 1, 1, 8)),
    localRooms: v['local-rooms'] === true,
    count: num(v.count, 'count', quick ? 2000 : 10_000, 1, 1_000_000),
    settleMs: num(v['settle-ms'], 'settle-ms', quick ? 1000 : 2000, 0, 120_000),
    connections: num(v.connections, 'connections', 50, 1, 10_000),
    payload: num(v.payload, 'payload', 64, 32, 60_000),
    sourceIps: Array.from({ length: sourceCount }, (_, i) => `127.0.0.${i + 2}`),
    logLevels: (v['log-level'] ?? 'default')
      .split(',')
      .map((l) =>
        oneOf(
          l.trim(),
          ['default', 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          'log-level',
        ),
      ),
    qimFlags: (v['qim-flag'] ?? []).flatMap((f) => f.split(/\s+/).filter((s) => s !== '')),
    profile: v.profile === true,
    explain: v.explain === true,
    shareRow: v['share-row'] === true,
    pin: v.pin === true,
    waitIdle: num(v['wait-idle'], 'wait-idle', 0, 0, 3600),
    retryBusy: num(v['retry-busy'], 'retry-busy', 0, 0, 10),
    maxOthers: num(v['max-others'], 'max-others', 50, 0, 200),
  };
}
