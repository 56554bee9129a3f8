/**
 * `cluster`: the fan-out workload against quick-im on the shared backends — one node, then
 * two, on one PostgreSQL and one nats-server that the bench starts itself — beside one
 * embedded node (SQLite, in-process bus). On two nodes each room's members are spread over
 * both, so every message crosses NATS to reach half of them, and rooms publish through
 * alternate nodes. With `--local-rooms` all of room r's members connect to node r mod n, which
 * publishes it: on an interest-routed bus no message needs another node. Every shared-backend
 * run also starts a bystander node on the same PostgreSQL and NATS that holds no connection:
 * what it spends per message of the cluster is what the bus costs a node with no member.
 */
import { randomBytes } from 'node:crypto';
import { cpuMicros, sleep } from '../lib/proc.js';
import type { FanoutResult } from '../lib/protocol.js';
import { natsUnavailable, startNats } from '../../test/helpers/nats.js';
import type { NatsServer } from '../../test/helpers/nats.js';
import { postgresUnavailable, startPostgres } from '../../test/helpers/postgres.js';
import type { PostgresServer } from '../../test/helpers/postgres.js';
import { GLOBAL_SUBJECT } from '../../src/bus/nats-subjects.js';
import { startServer } from '../lib/targets.js';
import type { RunningServer } from '../lib/targets.js';
import type { Column } from '../lib/report.js';
import { repeat, withSession } from './common.js';
import { clusterGoals } from './cluster-goals.js';
import type { Context, Variant, WorkloadOutput } from './common.js';
import type { Options } from '../lib/args.js';
import {
  columns,
  fanoutConfig,
  fanoutNotes,
  maxRateColumn,
  measureFanout,
  ratioKeys,
} from './fanout.js';

/**
 * PostgreSQL as durable as the embedded store's default (WAL, `synchronous = NORMAL`): a
 * commit is written to the OS before it is answered, so it survives the process being
 * killed; only an OS crash may lose the last ones. (The test default turns the write off.)
 */
const POSTGRES_SETTINGS = ['synchronous_commit=on', 'fsync=off'];

interface Shape {
  /** quick-im processes. */
  readonly nodes: number;
  /** On PostgreSQL + NATS (else the embedded SQLite store and in-process bus). */
  readonly shared: boolean;
  /** Runs only this many of the rooms, at the same rate per room (one node's share of a cluster). */
  readonly rooms?: number;
}

/** How long the bystander's idle CPU is sampled before the load, to subtract it after. */
const BYSTANDER_IDLE_MS = 3000;

/** What `measureFanout` hands back as raw, as far as this file reads it. */
interface FanoutRaw {
  readonly warmup: FanoutResult | null;
  readonly steps: readonly { readonly result: FanoutResult }[];
}

/** Rooms node `j` of `n` publishes (room r goes through node r mod n). */
function roomsOf(j: number, n: number, rooms: number): number {
  return Math.floor(rooms / n) + (j < rooms % n ? 1 : 0);
}

/**
 * Per-node CPU over the whole session (warm-up, measured phases and drains), per message of
 * the node's own rooms; and the bystander's CPU above its idle rate per message of the cluster.
 */
function perNodeMetrics(
  nodeCpu: readonly number[],
  bystander: {
    cpu: number;
    controlCpu: number;
    ms: number;
    idleMicrosPerMs: number;
    received: number;
  } | null,
  raw: FanoutRaw,
  rooms: number,
): Record<string, number> {
  const results = [...(raw.warmup ? [raw.warmup] : []), ...raw.steps.map((s) => s.result)];
  const published = results.reduce((sum, r) => sum + r.published, 0);
  const n = nodeCpu.length;
  const perOwn = nodeCpu.map((cpu, j) => cpu / ((published * roomsOf(j, n, rooms)) / rooms));
  const out: Record<string, number> = {
    nodeCpuPerOwn: perOwn.reduce((a, b) => a + b, 0) / n,
    nodeCpuPerOwnMax: Math.max(...perOwn),
  };
  if (bystander) {
    out.bystanderCpuPerMessage = Math.max(0, bystander.cpu - bystander.controlCpu) / published;
    out.bystanderAboveIdlePerMessage =
      Math.max(0, bystander.cpu - bystander.idleMicrosPerMs * bystander.ms) / published;
    out.bystanderIdleCpuPct = bystander.idleMicrosPerMs / 10;
    out.bystanderReceived = bystander.received / published;
  }
  return out;
}

const clusterColumns: Column[] = [
  ...columns.slice(0, 5),
  { key: 'backendCpuPerPublish', title: 'PostgreSQL + NATS µs/publish', digits: 1 },
  { key: 'totalCpuPerPublish', title: 'all µs/publish', digits: 1 },
  { key: 'backendCpuPct', title: 'PostgreSQL + NATS CPU %', digits: 0 },
  { key: 'nodeCpuPerOwn', title: 'per-node µs/own message', digits: 1 },
  { key: 'nodeCpuPerOwnMax', title: 'worst node µs/own message', digits: 1 },
  { key: 'bystanderReceived', title: 'bystander receives per cluster message', digits: 3 },
  {
    key: 'bystanderCpuPerMessage',
    title: 'bystander µs/cluster message (beyond an idle control)',
    digits: 2,
  },
  {
    key: 'bystanderAboveIdlePerMessage',
    title: 'bystander µs/cluster message (above its idle rate)',
    digits: 2,
  },
  { key: 'bystanderIdleCpuPct', title: 'bystander idle CPU %', digits: 2 },
  ...columns.slice(5),
];

/**
 * One node alone with what each node of an `n`-node cluster carries (`--local-rooms`): the
 * rooms node 0 of n gets, at the same rate per room. What a cluster node spends per message of
 * its own is held against this, not against one node carrying every room: a node's fixed costs
 * per second (timers, polls) and what it saves by batching both depend on its own rate.
 */
function shareOf(o: Options, n: number): Variant<Shape> {
  const rooms = roomsOf(0, n, o.rooms);
  const rate = Math.round((o.rate * rooms) / o.rooms);
  return {
    label: `1 node, one node's share of ${n} (${rooms} rooms, ${rate} msg/s), PostgreSQL + NATS`,
    target: 'quick-im',
    extra: { nodes: 1, shared: true, rooms },
  };
}

/** An idle embedded quick-im (no bus, no connection): the bystander's control. */
function startControl(ctx: Context): Promise<RunningServer> {
  return startServer('quick-im', ctx.workDir, {
    logLevel: 'default',
    extraFlags: [],
    rateLimits: true,
    profileName: null,
    cpus: null,
  });
}

/**
 * Messages nats-server has delivered to the bystander: the one connection subscribed to the
 * global subject only (it follows no conversation). Null without a monitoring endpoint.
 */
async function bystanderDeliveries(monitorUrl: string | null): Promise<number | null> {
  if (monitorUrl === null) return null;
  const res = await fetch(`${monitorUrl}/connz?subs=1`);
  const body = (await res.json()) as {
    connections?: { out_msgs: number; subscriptions_list?: string[] }[];
  };
  const only = (body.connections ?? []).filter(
    (c) =>
      (c.subscriptions_list ?? []).length === 1 && c.subscriptions_list?.[0] === GLOBAL_SUBJECT,
  );
  return only.length === 1 ? (only[0]?.out_msgs ?? null) : null;
}

export async function cluster(ctx: Context): Promise<WorkloadOutput> {
  const o = ctx.opts;
  const missing = postgresUnavailable() ?? natsUnavailable();
  if (missing !== undefined) throw new Error(`cluster needs PostgreSQL and NATS: ${missing}`);
  const variants: Variant<Shape>[] = [
    { label: '1 node, SQLite', target: 'quick-im', extra: { nodes: 1, shared: false } },
    ...o.nodes.map((n) => ({
      label: `${n} node${n === 1 ? '' : 's'}${o.localRooms && n > 1 ? ', node-local rooms' : ''}, PostgreSQL + NATS`,
      target: 'quick-im' as const,
      extra: { nodes: n, shared: true },
    })),
  ];
  const most = Math.max(...o.nodes);
  const share = o.shareRow && most > 1 ? shareOf(o, most) : null;
  if (share !== null) variants.push(share);
  // The same key on every node, so a token from one is valid on all.
  const jwtKey = randomBytes(32).toString('base64url');

  let postgres: PostgresServer | null = null;
  let nats: NatsServer | null = null;
  try {
    postgres = await startPostgres(POSTGRES_SETTINGS);
    nats = await startNats({ monitor: true });
    ctx.log(`  PostgreSQL on port ${postgres.port}, NATS at ${nats.url}`);
    const pg = postgres;
    const bus = nats;
    const { rows, raw } = await repeat(ctx, variants, async (v, rep) => {
      // One node's share runs fewer rooms at the same rate per room.
      const rooms = v.extra.rooms ?? o.rooms;
      const vctx: Context = {
        ...ctx,
        opts: { ...o, rooms, rate: (o.rate * rooms) / o.rooms },
      };
      // A fresh database for each run, as the embedded node gets a fresh data dir.
      const flags = v.extra.shared
        ? ['--store', await pg.createDatabase(), '--bus', bus.url, '--jwt-key', jwtKey]
        : [];
      const n = v.extra.nodes;
      return withSession(
        vctx,
        v,
        rep,
        // The bystander (the last node, shared runs only) gets no connection and no publish.
        (baseUrl, nodeUrls) => ({
          ...fanoutConfig(vctx, baseUrl, 'quick-im', 'ws', nodeUrls.slice(0, n)),
          localRooms: o.localRooms,
        }),
        300_000,
        async ({ servers, gen, ready }) => {
          const nodes = servers.slice(0, n).map((s) => s.pid);
          const bystanderPid = v.extra.shared ? servers[n]?.pid : undefined;
          let idleMicrosPerMs = 0;
          if (bystanderPid !== undefined) {
            const [c0, t0] = [cpuMicros(bystanderPid), performance.now()];
            await sleep(BYSTANDER_IDLE_MS);
            idleMicrosPerMs = (cpuMicros(bystanderPid) - c0) / (performance.now() - t0);
          }
          // A control: an idle embedded node on no bus, timed over the same window. What an idle
          // process costs on a loaded machine (timer wake-ups) is the same for both; the
          // bystander's CPU beyond the control's is what the bus costs it.
          const control = bystanderPid === undefined ? null : await startControl(ctx);
          const received0 = await bystanderDeliveries(bus.monitorUrl);
          const cpu0 = nodes.map(cpuMicros);
          const b0 = bystanderPid === undefined ? 0 : cpuMicros(bystanderPid);
          const c0 = control === null ? 0 : cpuMicros(control.pid);
          const t0 = performance.now();
          let measured;
          try {
            measured = await measureFanout(vctx, v.label, rep, gen, {
              servers: nodes,
              backends: v.extra.shared ? [pg.pid, bus.pid] : [],
            });
          } finally {
            void control?.stop();
          }
          const { metrics, raw } = measured;
          const nodeCpu = nodes.map((pid, j) => cpuMicros(pid) - (cpu0[j] as number));
          const received1 = await bystanderDeliveries(bus.monitorUrl);
          const bystander =
            bystanderPid === undefined || control === null
              ? null
              : {
                  cpu: cpuMicros(bystanderPid) - b0,
                  controlCpu: cpuMicros(control.pid) - c0,
                  ms: performance.now() - t0,
                  idleMicrosPerMs,
                  received: received0 === null || received1 === null ? NaN : received1 - received0,
                };
          const perNode = perNodeMetrics(nodeCpu, bystander, raw as FanoutRaw, rooms);
          ctx.log(
            `  ${v.label} rep ${rep + 1}: per node µs/own message ${perNode.nodeCpuPerOwn?.toFixed(1)}` +
              (bystander
                ? `, bystander µs/message ${perNode.bystanderCpuPerMessage?.toFixed(2)}`
                : ''),
          );
          return {
            metrics: { ...metrics, ...perNode },
            raw: { ready, nodes: n, localRooms: o.localRooms, nodeCpu, bystander, ...raw },
          };
        },
        { count: n + (v.extra.shared ? 1 : 0), flags },
      );
    });
    const shownColumns = o.findMax ? [maxRateColumn, ...clusterColumns] : clusterColumns;
    const [embedded, ...shared] = variants.filter((v) => v !== share).map((v) => v.label);
    const first = shared[0];
    const largest = shared[shared.length - 1];
    const pairs = [
      ...shared.map((label) => ({ num: label, den: embedded as string })),
      ...(first === undefined ? [] : shared.slice(1).map((label) => ({ num: label, den: first }))),
      ...(share === null || largest === undefined ? [] : [{ num: largest, den: share.label }]),
    ];
    return {
      columns: shownColumns,
      ratioColumns: shownColumns.filter((c) =>
        [...ratioKeys, 'nodeCpuPerOwn', 'nodeCpuPerOwnMax'].includes(c.key),
      ),
      rows,
      pairs,
      raw,
      goals: clusterGoals(rows, share?.label ?? first, largest),
      notes: [
        ...fanoutNotes(o, 'in all (spread over the nodes)'),
        'server µs/publish: all quick-im nodes together; PostgreSQL + NATS: the postgres process ' +
          'tree and nats-server, started by the bench on this machine (PostgreSQL ' +
          `${POSTGRES_SETTINGS.join(', ')}); all: both. On n nodes receiver i connects to node ` +
          (o.localRooms ? 'r mod n for its room r (--local-rooms)' : 'i mod n') +
          ' and room r publishes through node r mod n.',
        'per-node µs/own message: each node’s CPU over the whole session (warm-up, measured ' +
          'phases, drains) ÷ the messages published through it, averaged over the nodes (worst: ' +
          'the highest node). Bystander: one more node on the same PostgreSQL + NATS with no ' +
          `connection; its CPU over the session less its idle rate (sampled ${BYSTANDER_IDLE_MS / 1000} s ` +
          'before) ÷ every message published; its idle CPU % beside it.',
      ],
    };
  } finally {
    await nats?.stop();
    await postgres?.destroy();
  }
}
