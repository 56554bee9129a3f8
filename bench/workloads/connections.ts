/** `connections`: N idle WebSockets; server RSS per connection from /proc/<pid>/status VmRSS. */
import { cpuWindow, rssBytes } from '../lib/proc.js';
import type { Column } from '../lib/report.js';
import { fmt } from '../lib/stats.js';
import { targetTitles } from '../lib/targets.js';
import { genBase, repeat, selected, sleep, withSession } from './common.js';
import type { Context, Variant, WorkloadOutput } from './common.js';

const ROOM_SIZE = 10;

const columns: Column[] = [
  { key: 'opened', title: 'connections', digits: 0 },
  { key: 'failures', title: 'failed', digits: 0 },
  { key: 'rssPerConnKiB', title: 'server RSS/conn KiB', digits: 2 },
  { key: 'connectRate', title: 'connect/s', digits: 0 },
  { key: 'cpuPerConnect', title: 'server µs/connect', digits: 0 },
  { key: 'rssBeforeMiB', title: 'RSS before MiB', digits: 1 },
  { key: 'rssAfterMiB', title: 'RSS after MiB', digits: 1 },
  { key: 'clientRssPerConnKiB', title: 'client RSS/conn KiB', digits: 1 },
  { key: 'othersCpuPct', title: 'others CPU %', digits: 0 },
];

export async function connections(ctx: Context): Promise<WorkloadOutput> {
  const o = ctx.opts;
  const variants: Variant[] = (['quick-im', 'raw-ws', 'socketio'] as const)
    .filter((t) => selected(ctx, t))
    .map((target) => ({ label: targetTitles[target], target, extra: {} }));
  const lifetimeMs = 900_000;
  const { rows, raw } = await repeat(ctx, variants, (v, rep) =>
    withSession(
      ctx,
      v,
      rep,
      (baseUrl) => ({
        kind: 'connections',
        ...genBase(ctx, baseUrl, lifetimeMs),
        target: v.target,
        count: o.count,
        roomSize: ROOM_SIZE,
      }),
      600_000,
      async ({ server, gen, ready }) => {
        await sleep(1000);
        const rss0 = rssBytes(server.pid);
        const window = cpuWindow([server.pid], gen.pid);
        gen.post({ type: 'connect' });
        const { result } = await gen.next('result', 600_000);
        if (result.kind !== 'connections') throw new Error('unexpected result');
        const cpu = window();
        await sleep(o.settleMs);
        const rss1 = rssBytes(server.pid);
        if (result.failures > 0) ctx.log(`  ${v.label}: ${result.failures} connections failed`);
        const metrics = {
          opened: result.opened,
          failures: result.failures,
          rssPerConnKiB: (rss1 - rss0) / result.opened / 1024,
          connectRate: result.opened / (result.connectMs / 1000),
          cpuPerConnect: cpu.server / result.opened,
          othersCpuPct: cpu.others / cpu.ms / 10,
          rssBeforeMiB: rss0 / 2 ** 20,
          rssAfterMiB: rss1 / 2 ** 20,
          clientRssPerConnKiB: result.clientRssBytes / result.opened / 1024,
        };
        ctx.log(
          `  ${v.label} rep ${rep + 1}: ${result.opened} open in ${fmt(result.connectMs, 0)} ms, ` +
            `${fmt(metrics.rssPerConnKiB, 2)} KiB/conn`,
        );
        return { metrics, raw: { ready, fdLimit: server.fdLimit, result, rss0, rss1, cpu } };
      },
    ),
  );
  return {
    columns,
    ratioColumns: columns.filter((c) =>
      ['rssPerConnKiB', 'connectRate', 'cpuPerConnect'].includes(c.key),
    ),
    rows,
    pairs: [
      { num: 'quick-im', den: 'raw ws' },
      { num: 'quick-im', den: 'Socket.IO' },
    ],
    raw,
    notes: [
      `${o.count} idle WebSockets per server (rooms of ${ROOM_SIZE}), at most 200 handshakes at ` +
        `a time, spread over ${o.sourceIps.length} source addresses.`,
      `RSS/conn = (VmRSS ${o.settleMs} ms after the last handshake − VmRSS before the first) ÷ ` +
        'connections. Client RSS/conn includes the client process baseline.',
    ],
  };
}
