/** `send`: `/send_msg` throughput with autocannon, against a bare Fastify POST handler. */
import { cpuWindow } from '../lib/proc.js';
import type { Child, CpuWindow } from '../lib/proc.js';
import type { SendResult } from '../lib/protocol.js';
import type { Column } from '../lib/report.js';
import { fmt } from '../lib/stats.js';
import { genBase, logLevelVariants, repeat, selected, withSession } from './common.js';
import type { Context, Variant, WorkloadOutput } from './common.js';

const columns: Column[] = [
  { key: 'reqPerSec', title: 'req/s', digits: 0 },
  { key: 'p50', title: 'p50 ms', digits: 2 },
  { key: 'p99', title: 'p99 ms', digits: 2 },
  { key: 'max', title: 'max ms', digits: 1 },
  { key: 'cpuPerReq', title: 'server µs/req', digits: 1 },
  { key: 'serverCpuPct', title: 'server CPU %', digits: 0 },
  { key: 'failed', title: 'non-2xx + errors', digits: 0 },
  { key: 'lost', title: 'lost', digits: 0 },
  { key: 'duplicated', title: 'dup', digits: 0 },
  { key: 'clientCpuPct', title: 'client CPU %', digits: 0 },
  { key: 'othersCpuPct', title: 'others CPU %', digits: 0 },
];

async function phase(
  gen: Child,
  pid: number,
  id: number,
  seconds: number,
): Promise<{ result: SendResult; cpu: CpuWindow }> {
  const window = cpuWindow([pid], gen.pid);
  gen.post({ type: 'run', phase: id, rate: 0, seconds, drainMs: 5000 });
  await gen.next('done', seconds * 1000 + 120_000);
  const cpu = window();
  const { result } = await gen.next('result', 60_000);
  if (result.kind !== 'send') throw new Error('unexpected result');
  return { result, cpu };
}

export async function send(ctx: Context): Promise<WorkloadOutput> {
  const o = ctx.opts;
  const online = `quick-im (online, ${o.members} ws)`;
  const variants: Variant<{ online: boolean }>[] = [];
  if (selected(ctx, 'bare-fastify'))
    variants.push({ label: 'bare Fastify', target: 'bare-fastify', extra: { online: false } });
  if (selected(ctx, 'quick-im')) {
    variants.push(
      ...logLevelVariants(ctx, (suffix) => `quick-im (offline${suffix})`, { online: false }),
      ...logLevelVariants(ctx, (suffix) => online.replace(')', `${suffix})`), { online: true }),
    );
  }
  const lifetimeMs = (o.warmup + o.seconds) * 1000 + 600_000;
  const { rows, raw } = await repeat(ctx, variants, (v, rep) =>
    withSession(
      ctx,
      v,
      rep,
      (baseUrl) => ({
        kind: 'send',
        ...genBase(ctx, baseUrl, lifetimeMs),
        target: v.target,
        online: v.extra.online,
        members: o.members,
        connections: o.connections,
        payloadBytes: o.payload,
      }),
      120_000,
      async ({ server, gen, ready }) => {
        const warmup = o.warmup > 0 ? await phase(gen, server.pid, 0, o.warmup) : null;
        const { result: r, cpu } = await phase(gen, server.pid, 1, o.seconds);
        const metrics = {
          reqPerSec: r.reqPerSec,
          p50: r.latencyMs.p50,
          p99: r.latencyMs.p99,
          max: r.latencyMs.max,
          cpuPerReq: cpu.server / r.ok,
          serverCpuPct: cpu.server / cpu.ms / 10,
          failed: r.non2xx + r.errors,
          lost: Math.max(0, r.expectedDeliveries - r.delivered),
          duplicated: r.duplicated,
          clientCpuPct: cpu.client / cpu.ms / 10,
          othersCpuPct: cpu.others / cpu.ms / 10,
        };
        ctx.log(
          `  ${v.label} rep ${rep + 1}: ${fmt(r.reqPerSec, 0)} req/s, p99 ${fmt(r.latencyMs.p99, 2)} ms, ` +
            `${fmt(metrics.cpuPerReq, 1)} µs/req, failed ${metrics.failed}, lost ${metrics.lost}`,
        );
        return { metrics, raw: { ready, fdLimit: server.fdLimit, warmup, result: r, cpu } };
      },
      undefined,
      // Every request comes from a few sessions as fast as they are answered.
      false,
    ),
  );
  return {
    columns,
    ratioColumns: columns.filter((c) => ['reqPerSec', 'p50', 'p99', 'cpuPerReq'].includes(c.key)),
    rows,
    pairs: variants
      .filter((v) => v.target === 'quick-im')
      .map((v) => ({ num: v.label, den: 'bare Fastify' })),
    raw,
    notes: [
      `autocannon, ${o.connections} connections, ${o.seconds} s (after ${o.warmup} s warm-up), ` +
        `POST /send_msg with a ${o.payload}-byte content into one conversation of ${o.members} ` +
        'members; online: every member holds a quick-im WebSocket and each delivery is checked.',
      'bare Fastify: a POST handler answering the same envelope, no schema, logging or storage.',
      'quick-im runs with --send-rate 0 --join-rate 0: the load comes from a few sessions.',
    ],
  };
}
