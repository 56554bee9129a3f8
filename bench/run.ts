/**
 * `npm run bench` (the headline run: fan-out against the reference servers, then the cluster
 * workload, and the project's goals checked against both) or
 * `npm run bench -- <fanout|connections|send|cluster> [flags]`: starts every server and the
 * load generator as child processes on loopback, runs each combination `--reps` times
 * (interleaved), prints a markdown table with ratios from the same runs and writes
 * bench/results/*.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseOptions, usage } from './lib/args.js';
import type { Options } from './lib/args.js';
import { goalTable, met } from './lib/goals.js';
import type { Goal } from './lib/goals.js';
import { ROOT, canPin, fdMethod } from './lib/proc.js';
import { writeReadmeSection } from './lib/readme.js';
import {
  machine,
  markdownTable,
  ratioTable,
  ratios,
  summarize,
  writeResults,
} from './lib/report.js';
import { cluster } from './workloads/cluster.js';
import { connections } from './workloads/connections.js';
import type { Context, WorkloadOutput } from './workloads/common.js';
import { fanout } from './workloads/fanout.js';
import { send } from './workloads/send.js';

/** What one workload printed and wrote. */
interface Reported {
  readonly table: string;
  readonly goals: readonly Goal[];
  readonly file: string;
  readonly failed: boolean;
}

function workloadOf(ctx: Context): Promise<WorkloadOutput> {
  switch (ctx.opts.workload) {
    case 'fanout':
      return fanout(ctx);
    case 'connections':
      return connections(ctx);
    case 'send':
      return send(ctx);
    case 'cluster':
      return cluster(ctx);
    case 'headline':
      throw new Error('headline is a sequence of workloads');
  }
}

/** Runs one workload, prints its tables and writes its JSON. */
async function runWorkload(opts: Options, command: string, workDir: string): Promise<Reported> {
  const startedAt = new Date();
  const t0 = performance.now();
  const ctx: Context = {
    opts,
    workDir,
    stamp: startedAt.toISOString().replace(/[:.]/g, '-'),
    log: (line) => console.error(line),
  };
  ctx.log(`bench ${opts.workload}: ${command}`);
  ctx.log(`  logs in ${workDir}; fd limit: ${fdMethod()}`);
  const out = await workloadOf(ctx);
  const totalSec = (performance.now() - t0) / 1000;
  const ratioSummary = ratios(out.ratioColumns, out.rows, out.pairs);
  const m = machine();
  const failed = out.rows.some((r) => r.reps.some((x) => x === null));
  const reps =
    opts.reps === 1
      ? `1 repetition${opts.quick ? ' (quick mode)' : ''}: single values, no spread`
      : `${opts.reps} repetitions: median (min–max)`;
  const levels = opts.logLevels.map((l) => (l === 'default' ? 'its default (info)' : l));
  const lines = [
    `### ${opts.workload}${opts.quick ? ' (quick)' : ''}${opts.findMax ? ' --find-max' : ''}`,
    '',
    `${startedAt.toISOString()} · ${m.cpus} × ${m.cpuModel} · ${m.memGiB} GiB · Node ${m.node} · ` +
      `\`${command}\` · ${reps} · quick-im log level: ${levels.join(', ')}` +
      (opts.qimFlags.length > 0 ? ` ${opts.qimFlags.join(' ')}` : '') +
      (opts.pin ? ' · pinned: server on CPU 0, generator on CPU 1' : '') +
      ` · ${totalSec.toFixed(0)} s in all`,
    '',
    markdownTable(out.columns, out.rows),
    '',
  ];
  const rt = ratioTable(out.ratioColumns, ratioSummary);
  if (rt !== '') lines.push('Ratios, each from the same repetition:', '', rt, '');
  const goals = out.goals ?? [];
  if (goals.length > 0) lines.push('Goals:', '', goalTable(goals), '');
  if (out.explanation !== undefined) lines.push(out.explanation, '');
  const notes = [
    ...out.notes,
    'others CPU %: CPU time of everything but the server and generator processes during the ' +
      'measured window, in % of one core (near 0 on a quiet machine): a high figure means other ' +
      'work on the machine disturbed the run.',
  ];
  for (const n of notes) lines.push(`- ${n}`);
  const table = lines.join('\n');
  console.log(table);

  const file = writeResults(opts.workload, startedAt, {
    workload: opts.workload,
    command,
    startedAt: startedAt.toISOString(),
    seconds: totalSec,
    machine: m,
    fdLimitMethod: fdMethod(),
    options: opts,
    summary: Object.fromEntries(out.rows.map((r) => [r.label, summarize(r, out.columns)])),
    ratios: ratioSummary,
    goals: goals.map((g) => ({ ...g, met: met(g) })),
    perRep: out.rows,
    notes,
    raw: out.raw,
    table,
  });
  console.log(`\nJSON: ${relative(ROOT, file)}\n`);
  return { table, goals, file: relative(ROOT, file), failed };
}

/**
 * The headline run: `fanout` (quick-im at its defaults, at `--log-level warn` and without its
 * message INSERT — what storing costs — against raw ws and Socket.IO) and `cluster` (node-local rooms on 1 and 3 nodes, with a bystander node);
 * then every goal in one table. `--readme` writes that section into README.md.
 */
async function headline(argv: readonly string[], workDir: string): Promise<number> {
  const shared = argv.filter((a) => a !== '--readme');
  const parts: Array<[string[], string]> = [
    [
      ['fanout', '--log-level', 'default,warn', '--no-insert-row', '--explain', ...shared],
      'npm run bench -- fanout',
    ],
    [
      ['cluster', '--local-rooms', '--nodes', '1,3', '--share-row', ...shared],
      'npm run bench -- cluster',
    ],
  ];
  const reported: Reported[] = [];
  const startedAt = new Date();
  for (const [args, name] of parts) {
    const opts = parseOptions(args);
    if (opts === null) return 2;
    reported.push(await runWorkload(opts, `${name} ${args.slice(1).join(' ')}`.trim(), workDir));
  }
  const goals = reported.flatMap((r) => r.goals);
  const m = machine();
  const section = [
    `Measured ${startedAt.toISOString().slice(0, 10)} by one \`npm run bench\` ` +
      `(${m.cpus} × ${m.cpuModel}, Node ${m.node}; results ` +
      `${reported.map((r) => `\`${r.file}\``).join(', ')}). Medians over the repetitions, ` +
      'range in brackets; ratios are taken within each repetition.',
    '',
    goalTable(goals),
    '',
    ...reported.map((r) => r.table.replace(/^### /, '#### ')),
  ].join('\n');
  console.log(`### goals\n\n${goalTable(goals)}\n`);
  if (argv.includes('--readme')) {
    writeReadmeSection(section);
    console.log('README.md: performance section rewritten from this run');
  }
  return reported.some((r) => r.failed) ? 1 : 0;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (opts === null) return 0;
  if (opts.pin && !canPin()) {
    console.error('bench: --pin needs taskset (util-linux) and at least two CPUs');
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'quick-im-bench-run-'));
  let failed: boolean;
  if (opts.workload === 'headline') {
    const rest = argv[0] === 'headline' ? argv.slice(1) : argv;
    failed = (await headline(rest, workDir)) !== 0;
  } else {
    failed = (await runWorkload(opts, `npm run bench -- ${argv.join(' ')}`, workDir)).failed;
  }
  if (failed) console.error(`some runs failed; logs kept in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
