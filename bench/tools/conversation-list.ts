/**
 * How fast `/get_conversation_list` answers a session in 500 conversations with 100 unread
 * messages each (issue 15's goal: median under 20 ms on SQLite, under 50 ms on PostgreSQL),
 * through HTTP on loopback, one request at a time.
 * Usage: npx tsx bench/tools/conversation-list.ts [sqlite|postgres|both] [requests=50]
 * PostgreSQL is started by the test helper (as the cluster bench does); the data is seeded
 * through the store, not HTTP, which only the measured requests use. PostgreSQL is measured
 * twice: right after the seed, when the fresh rows' visibility is not yet recorded and every
 * counted index entry costs a heap visit, and after `VACUUM ANALYZE` (what autovacuum does
 * for an insert-only table since PostgreSQL 13), when the counts are index-only scans.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { nowMicros } from '../../src/domain/message.js';
import { startPostgres } from '../../test/helpers/postgres.js';
import type { PostgresServer } from '../../test/helpers/postgres.js';
import { startServer } from '../../test/helpers/server.js';
import type { TestServer } from '../../test/helpers/server.js';
import { ROOT } from '../lib/proc.js';

const CONVERSATIONS = 500;
const UNREAD_EACH = 100;

interface Figures {
  readonly store: string;
  readonly requests: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly seedSeconds: number;
}

async function seed(server: TestServer): Promise<void> {
  const store = server.app.store;
  const ids = Array.from({ length: CONVERSATIONS }, () => randomUUID());
  for (const id of ids) await store.createConversation(id, 0, ['reader', 'writer']);
  // Conversations in parallel, each one's messages in order.
  await Promise.all(
    ids.map(async (conversationId) => {
      for (let i = 0; i < UNREAD_EACH; i++) {
        const draft = {
          conversationId,
          fromSession: 'writer',
          status: 0,
          type: 1,
          content: `message ${i}`,
          sendTime: nowMicros(),
        };
        const result = await store.appendMessage(draft);
        if (result.kind !== 'appended') throw new Error(`seed append: ${result.kind}`);
      }
    }),
  );
}

async function measure(
  label: string,
  server: TestServer,
  requests: number,
  seedSeconds: number,
): Promise<Figures> {
  const token = await server.token('reader');
  const once = async (): Promise<number> => {
    const started = performance.now();
    const res = await server.post('/get_conversation_list', {}, token);
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`list: ${JSON.stringify(res.body)}`);
    const { Total, Conversations } = res.body.data as { Total: number; Conversations: unknown[] };
    if (Total !== CONVERSATIONS * UNREAD_EACH || Conversations.length !== CONVERSATIONS) {
      throw new Error(`list: Total ${Total}, ${Conversations.length} conversations`);
    }
    return ms;
  };
  for (let i = 0; i < 5; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < requests; i++) times.push(await once());
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return {
    store: label,
    requests,
    medianMs: at(0.5),
    p90Ms: at(0.9),
    minMs: times[0] ?? NaN,
    maxMs: times[times.length - 1] ?? NaN,
    seedSeconds,
  };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function run(which: string, requests: number): Promise<Figures[]> {
  const out: Figures[] = [];
  if (which === 'sqlite' || which === 'both') {
    const server = await startServer();
    try {
      out.push(await measure('sqlite', server, requests, await timed(() => seed(server))));
    } finally {
      await server.close(true);
    }
  }
  if (which === 'postgres' || which === 'both') {
    let postgres: PostgresServer | undefined;
    let server: TestServer | undefined;
    try {
      postgres = await startPostgres();
      server = await startServer({
        store: { kind: 'postgres', url: postgres.url },
        jwtKey: 'conversation-list-bench-key-0123456789abcdef',
      });
      const seedSeconds = await timed(() => seed(server as TestServer));
      out.push(await measure('postgres', server, requests, seedSeconds));
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      await client.query('VACUUM ANALYZE');
      await client.end();
      out.push(await measure('postgres after VACUUM ANALYZE', server, requests, seedSeconds));
    } finally {
      await server?.close(true);
      await postgres?.destroy();
    }
  }
  return out;
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'both';
  const requests = Number(process.argv[3] ?? 50);
  const startedAt = new Date();
  const figures = await run(which, requests);
  const lines = [
    `### conversation-list: ${CONVERSATIONS} conversations × ${UNREAD_EACH} unread`,
    '',
    `${startedAt.toISOString()} · \`npx tsx bench/tools/conversation-list.ts ${which} ${requests}\``,
    '',
    '| store | requests | median ms | p90 ms | min ms | max ms | seed s |',
    '|---|---|---|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.store} | ${f.requests} | ${f.medianMs.toFixed(1)} | ${f.p90Ms.toFixed(1)} | ` +
        `${f.minMs.toFixed(1)} | ${f.maxMs.toFixed(1)} | ${f.seedSeconds.toFixed(1)} |`,
    ),
  ];
  console.log(lines.join('\n'));
  const file = join(
    ROOT,
    'bench/results',
    `conversation-list-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(file, JSON.stringify({ startedAt, figures, table: lines.join('\n') }, null, 2));
  console.log(`\nJSON: ${file}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    process.exit(1);
  },
);
