/**
 * `cluster`: the fan-out workload against quick-im on the shared backends — one node, then
 * two, on one PostgreSQL and one nats-server that the bench starts itself — beside one
 * embedded node (SQLite, in-process bus). On two nodes each room's members are spread over
 * both, so every message crosses NATS to reach half of them, and rooms publish through
 * alternate nodes.
 */
import { randomBytes } from 'node:crypto';
import { natsUnavailable, startNats } from '../../test/helpers/nats.js';
import type { NatsServer } from '../../test/helpers/nats.js';
import { postgresUnavailable, startPostgres } from '../../test/helpers/postgres.js';
import type { PostgresServer } from '../../test/helpers/postgres.js';
import type { Column } from '../lib/report.js';
import { repeat, withSession } from './common.js';
import type { Context, Variant, WorkloadOutput } from './common.js';
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
}

const clusterColumns: Column[] = [
  ...columns.slice(0, 5),
  { key: 'backendCpuPerPublish', title: 'PostgreSQL + NATS µs/publish', digits: 1 },
  { key: 'totalCpuPerPublish', title: 'all µs/publish', digits: 1 },
  { key: 'backendCpuPct', title: 'PostgreSQL + NATS CPU %', digits: 0 },
  ...columns.slice(5),
];

export async function cluster(ctx: Context): Promise<WorkloadOutput> {
  const o = ctx.opts;
  const missing = postgresUnavailable() ?? natsUnavailable();
  if (missing !== undefined) throw new Error(`cluster needs PostgreSQL and NATS: ${missing}`);
  const variants: Variant<Shape>[] = [
    { label: '1 node, SQLite', target: 'quick-im', extra: { nodes: 1, shared: false } },
    ...o.nodes.map((n) => ({
      label: `${n} node${n === 1 ? '' : 's'}, PostgreSQL + NATS`,
      target: 'quick-im' as const,
      extra: { nodes: n, shared: true },
    })),
  ];
  // The same key on every node, so a token from one is valid on all.
  const jwtKey = randomBytes(32).toString('base64url');

  let postgres: PostgresServer | null = null;
  let nats: NatsServer | null = null;
  try {
    postgres = await startPostgres(POSTGRES_SETTINGS);
    nats = await startNats();
    ctx.log(`  PostgreSQL on port ${postgres.port}, NATS at ${nats.url}`);
    const pg = postgres;
    const bus = nats;
    const { rows, raw } = await repeat(ctx, variants, async (v, rep) => {
      // A fresh database for each run, as the embedded node gets a fresh data dir.
      const flags = v.extra.shared
        ? ['--store', await pg.createDatabase(), '--bus', bus.url, '--jwt-key', jwtKey]
        : [];
      return withSession(
        ctx,
        v,
        rep,
        (baseUrl, nodeUrls) => fanoutConfig(ctx, baseUrl, 'quick-im', 'ws', nodeUrls),
        300_000,
        async ({ servers, gen, ready }) => {
          const { metrics, raw } = await measureFanout(ctx, v.label, rep, gen, {
            servers: servers.map((s) => s.pid),
            backends: v.extra.shared ? [pg.pid, bus.pid] : [],
          });
          return { metrics, raw: { ready, nodes: v.extra.nodes, ...raw } };
        },
        { count: v.extra.nodes, flags },
      );
    });
    const shownColumns = o.findMax ? [maxRateColumn, ...clusterColumns] : clusterColumns;
    const [embedded, ...shared] = variants.map((v) => v.label);
    const first = shared[0];
    const pairs = [
      ...shared.map((label) => ({ num: label, den: embedded as string })),
      ...(first === undefined ? [] : shared.slice(1).map((label) => ({ num: label, den: first }))),
    ];
    return {
      columns: shownColumns,
      ratioColumns: shownColumns.filter((c) => ratioKeys.includes(c.key)),
      rows,
      pairs,
      raw,
      notes: [
        ...fanoutNotes(o, 'in all (spread over the nodes)'),
        'server µs/publish: all quick-im nodes together; PostgreSQL + NATS: the postgres process ' +
          'tree and nats-server, started by the bench on this machine (PostgreSQL ' +
          `${POSTGRES_SETTINGS.join(', ')}); all: both. On n nodes receiver i connects to node ` +
          'i mod n and room r publishes through node r mod n.',
      ],
    };
  } finally {
    await nats?.stop();
    await postgres?.destroy();
  }
}
