/**
 * `npm run bench -- <fanout|connections|send|cluster> [flags]`: starts every server and the load
 * generator as child processes on loopback, runs each combination `--reps` times (interleaved),
 * prints a markdown table with ratios from the same runs and writes bench/results/*.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseOptions, usage } from './lib/args.js';
import { ROOT, canPin, fdMethod } from './lib/proc.js';
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

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (opts === null) return 0;
  if (opts.pin && !canPin()) {
    console.error('bench: --pin needs taskset (util-linux) and at least two CPUs');
    return 2;
  }
  const startedAt = new Date();
  const t0 = performance.now();
  const workDir = mkdtempSync(join(tmpdir(), 'quick-im-bench-run-'));
  const ctx: Context = {
    opts,
    workDir,
    stamp: startedAt.toISOString().replace(/[:.]/g, '-'),
    log: (line) => console.error(line),
  };
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`;
  ctx.log(`bench ${opts.workload}: ${command}`);
  ctx.log(`  logs in ${workDir}; fd limit: ${fdMethod()}`);

  let out: WorkloadOutput;
  switch (opts.workload) {
    case 'fanout':
      out = await fanout(ctx);
      break;
    case 'connections':
      out = await connections(ctx);
      break;
    case 'send':
      out = await send(ctx);
      break;
    case 'cluster':
      out = await cluster(ctx);
      break;
  }
  const totalSec = (performance.now() - t0) / 1000;
  const ratioSummary = ratios(out.ratioColumns, out.rows, out.pairs);
  const m = machine();
  const failed = out.rows.some((r) => r.reps.some((x) => x === null));
  const reps =
    opts.reps === 1
      ? `1 repetition${opts.quick ? ' (quick mode)' : ''}: single values, no spread`
      : `${opts.reps} repetitions: median (min–max)`;
  const lines = [
    `### ${opts.workload}${opts.quick ? ' (quick)' : ''}${opts.findMax ? ' --find-max' : ''}`,
    '',
    `${startedAt.toISOString()} · ${m.cpus} × ${m.cpuModel} · ${m.memGiB} GiB · Node ${m.node} · ` +
      `\`${command}\` · ${reps} · quick-im log level: ${opts.logLevels.map((l) => (l === 'default' ? 'its default (info)' : l)).join(', ')}` +
      (opts.qimFlags.length > 0 ? ` ${opts.qimFlags.join(' ')}` : '') +
      (opts.pin ? ' · pinned: server on CPU 0, generator on CPU 1' : '') +
      ` · ${totalSec.toFixed(0)} s in all`,
    '',
    markdownTable(out.columns, out.rows),
    '',
  ];
  const rt = ratioTable(out.ratioColumns, ratioSummary);
  if (rt !== '') lines.push('Ratios, each from the same repetition:', '', rt, '');
  const notes = [
    ...out.notes,
    'others CPU %: CPU time of everything but the server and generator processes during the ' +
      'measured window, in % of one core (near 0 on a quiet machine): a high figure means other ' +
      'work on the machine disturbed the run.',
  ];
  for (const n of notes) lines.push(`- ${n}`);
  console.log(lines.join('\n'));

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
    perRep: out.rows,
    notes,
    raw: out.raw,
    table: lines.join('\n'),
  });
  console.log(`\nJSON: ${relative(ROOT, file)}`);
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
