import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { MsgIdAllocator } from '../domain/msg-id.js';
import { storeContract } from '../../test/contracts/store.contract.js';
import { postgresUnavailable, startPostgres } from '../../test/helpers/postgres.js';
import type { PostgresServer } from '../../test/helpers/postgres.js';
import { skipReason } from '../../test/helpers/processes.js';
import { MemberState } from './member-state.js';
import { MISSED_REFS, RANGE_ASC } from './postgres-statements.js';
import { PostgresStore } from './postgres-store.js';
import type { AllocateMsgId, AppendResult } from './store.js';

const skip = skipReason(postgresUnavailable());

describe('PostgresStore', { skip }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.destroy();
  });

  storeContract('PostgresStore', async (allocator) => {
    const url = await server.createDatabase();
    const store = await PostgresStore.open({ url, timeoutMs: 5000, allocatorFor: () => allocator });
    return { store, cleanup: () => store.close().catch(() => {}) };
  });

  describe('two nodes appending to one conversation', () => {
    /** Two stores (nodes) on one fresh database, each with its own id allocator. */
    async function twoNodes(
      fn: (
        nodes: readonly {
          store: PostgresStore;
          send: (content: string) => Promise<AppendResult>;
        }[],
      ) => Promise<void>,
    ): Promise<void> {
      const url = await server.createDatabase();
      // Each node's allocator carries the number the database handed it.
      const allocatorFor = (nodeNumber: number): AllocateMsgId => {
        const ids = new MsgIdAllocator(nodeNumber);
        return (last) => ids.next(last);
      };
      const stores = [
        await PostgresStore.open({ url, timeoutMs: 5000, allocatorFor }),
        await PostgresStore.open({ url, timeoutMs: 5000, allocatorFor }),
      ];
      try {
        assert.notEqual(stores[0]!.nodeNumber, stores[1]!.nodeNumber);
        await stores[0]!.createConversation('c', 0, ['alice', 'bob']);
        const nodes = stores.map((store) => ({
          store,
          send: (content: string) =>
            store.appendMessage({
              conversationId: 'c',
              fromSession: 'alice',
              status: 0,
              type: 1,
              content,
              sendTime: Date.now() * 1000,
            }),
        }));
        await fn(nodes);
      } finally {
        for (const s of stores) await s.close();
      }
    }

    function appended(r: AppendResult): { id: string; previous: string | null } {
      assert.equal(r.kind, 'appended');
      if (r.kind !== 'appended') throw new Error('unreachable');
      return { id: r.message.MsgId, previous: r.previousMsgId };
    }

    it('names the true previous message when another node appended since this one did', () =>
      twoNodes(async ([a, b]) => {
        const m1 = appended(await a!.send('1'));
        const m2 = appended(await a!.send('2'));
        assert.equal(m2.previous, m1.id);
        const m3 = appended(await b!.send('3'));
        assert.equal(m3.previous, m2.id);
        // a last stored m2: its guess is stale, and the append must say m3 came before.
        const m4 = appended(await a!.send('4'));
        assert.equal(m4.previous, m3.id);
        assert.ok(m4.id > m3.id);
        assert.equal(await b!.store.lastMsgId('c'), m4.id);
        const history = await b!.store.messagesBefore('c', null, 10);
        assert.deepEqual(
          history.map((m) => m.Content),
          ['1', '2', '3', '4'],
        );
      }));

    it('refuses a sender who left through another node, though this node knows the last id', () =>
      twoNodes(async ([a, b]) => {
        appended(await a!.send('1'));
        assert.equal(await b!.store.leave('c', 'alice'), true);
        assert.deepEqual(await a!.send('2'), { kind: 'not-member' });
        assert.equal((await a!.store.messagesBefore('c', null, 10)).length, 1);
      }));

    it('keeps ids rising in commit order, each naming the one before, under concurrent sends on both', () =>
      twoNodes(async ([a, b]) => {
        const sends: Promise<AppendResult>[] = [];
        for (let i = 0; i < 40; i++) sends.push((i % 2 === 0 ? a! : b!).send(String(i)));
        const results = (await Promise.all(sends)).map(appended);
        const byId = [...results].sort((x, y) => (x.id < y.id ? -1 : 1));
        assert.equal(new Set(byId.map((m) => m.id)).size, 40);
        assert.equal(byId[0]!.previous, null);
        for (let i = 1; i < byId.length; i++) assert.equal(byId[i]!.previous, byId[i - 1]!.id);
        const stored = await a!.store.rangeFromStart('c', byId[0]!.id, byId[39]!.id, 1000);
        assert.deepEqual(
          stored.map((m) => m.MsgId),
          byId.map((m) => m.id),
        );
      }));
  });

  describe('resume reads', () => {
    /** The plan PostgreSQL picks for `text` with `values`, over 20 conversations of 5,000 messages. */
    async function explain(text: string, values: unknown[]): Promise<string> {
      const url = await server.createDatabase();
      const store = await PostgresStore.open({
        url,
        timeoutMs: 5000,
        allocatorFor: () => () => 'x',
      });
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`INSERT INTO members (conversation_id, session, state)
          SELECT 'c' || c, s, ${MemberState.Member} FROM generate_series(0, 19) c, unnest(ARRAY['alice', 'bob']) s`);
        await client.query(`INSERT INTO messages (conversation_id, msg_id, from_session, send_time, status, type, content)
          SELECT 'c' || c, lpad(i::text, 8, '0'), 'bob', 0, 0, 0, repeat('x', 200)
          FROM generate_series(0, 19) c, generate_series(1, 5000) i`);
        await client.query('ANALYZE');
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await client.end();
      }
    }

    it('plans a resume from ids read per conversation off the primary key, never a scan', async () => {
      const plan = await explain(MISSED_REFS, ['alice', '00000010', 1000]);
      assert.match(plan, /Index (Only )?Scan Backward using messages_pkey on messages/, plan);
      assert.doesNotMatch(plan, /Seq Scan on messages/, plan);
    });

    it("reads a page's range of one conversation off the primary key", async () => {
      const plan = await explain(RANGE_ASC, ['c1', 100, '00000010', '00000110']);
      assert.match(
        plan,
        /Index Cond: .*conversation_id = 'c1'.*msg_id >= '00000010'.*msg_id <= '00000110'/,
        plan,
      );
      assert.match(plan, /messages_pkey/, plan);
      assert.doesNotMatch(plan, /Seq Scan/, plan);
    });
  });
});
