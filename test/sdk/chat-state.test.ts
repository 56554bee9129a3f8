import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, QuickImClient, QuickImError } from '@quick-im/client';
import type { Member } from '@quick-im/client';
import { HIGHEST_MSG_ID } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { ClientPool, TEST_TIMEOUT_MS, send } from './sdk-helpers.js';

/** The contract's `client_msg_id`: 1..64 characters from `!` to `~`. */
const CLIENT_MSG_ID = /^[!-~]{1,64}$/;

/** Asserts `promise` rejects with a QuickImError carrying `code` and HTTP `status`. */
async function rejectsWith(promise: Promise<unknown>, code: number, status: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof QuickImError, `not a QuickImError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status, err.message);
    return true;
  });
}

/**
 * A fetch that passes every call to the real server, except that `/send_msg` calls are
 * recorded and answered by `fault(n, real)`: `n` counts them from 1, `real()` makes the call.
 */
function sendFault(fault: (n: number, real: () => Promise<Response>) => Promise<Response>): {
  fetch: typeof fetch;
  sends: { client_msg_id?: unknown; content?: unknown }[];
} {
  const sends: { client_msg_id?: unknown; content?: unknown }[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    if (!String(input).endsWith('/send_msg')) return fetch(input, init);
    sends.push(JSON.parse(String(init?.body)) as { client_msg_id?: unknown });
    return fault(sends.length, () => fetch(input, init));
  };
  return { fetch: wrapped, sends };
}

describe('QuickImClient chat state', () => {
  let server: TestServer;
  const pool = new ClientPool();
  let alice: QuickImClient;
  let bob: QuickImClient;
  let carol: QuickImClient;

  before(async () => {
    server = await startServer();
    alice = await pool.forSession(server, 'alice');
    bob = await pool.forSession(server, 'bob');
    carol = await pool.forSession(server, 'carol');
  });
  after(async () => {
    pool.closeAll();
    await server.close(true);
  });

  it(
    'repeats a send whose answer was lost with the same clientMsgId, storing it once',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const id = await server.createConversation(['alice']);
      // The server stores the message and answers; the answer is then lost on the way back.
      const faulty = sendFault(async (n, real) => {
        const res = await real();
        if (n > 1) return res;
        await res.text();
        throw new TypeError('fetch failed: connection reset');
      });
      const client = await pool.forSession(server, 'alice', 2, { fetch: faulty.fetch });
      const msgId = await client.sendMessage({ conversationId: id, content: 'only once' });

      assert.equal(faulty.sends.length, 2, 'one repeat');
      const [first, second] = faulty.sends;
      assert.match(String(first?.client_msg_id), CLIENT_MSG_ID);
      assert.equal(second?.client_msg_id, first?.client_msg_id, 'the repeat reuses the id');
      const stored = await alice.getLastMessages(id);
      assert.deepEqual(
        stored.map((m) => [m.MsgId, m.Content]),
        [[msgId, 'only once']],
      );
    },
  );

  it(
    'repeats a send answered 503, and with sendRetries 0 reports the 503',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const id = await server.createConversation(['alice']);
      const unavailable = async (): Promise<Response> =>
        new Response(JSON.stringify({ code: ErrorCode.Internal, error: 'restarting' }), {
          status: 503,
          headers: { 'content-type': 'application/json' },
        });
      const faulty = sendFault((n, real) => (n === 1 ? unavailable() : real()));
      const client = await pool.forSession(server, 'alice', 3, { fetch: faulty.fetch });
      const msgId = await client.sendMessage({ conversationId: id, content: 'after a 503' });
      assert.equal(faulty.sends.length, 2);
      assert.equal(faulty.sends[1]?.client_msg_id, faulty.sends[0]?.client_msg_id);
      assert.equal(await alice.getLastMsgId(id), msgId);

      const noRetry = sendFault(() => unavailable());
      const strict = await pool.forSession(server, 'alice', 4, {
        fetch: noRetry.fetch,
        sendRetries: 0,
      });
      await rejectsWith(strict.sendMessage({ conversationId: id, content: 'x' }), 10002, 503);
      assert.equal(noRetry.sends.length, 1, 'no repeat');
      // A refusal that repeating cannot fix is not repeated either.
      const counted = sendFault((_n, real) => real());
      const other = await pool.forSession(server, 'carol', 4, { fetch: counted.fetch });
      await rejectsWith(other.sendMessage({ conversationId: id, content: 'x' }), 10004, 403);
      assert.equal(counted.sends.length, 1);
    },
  );

  it(
    'gives each send its own clientMsgId; a given one deduplicates, a malformed one is refused',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const id = await server.createConversation(['alice']);
      const a = await alice.sendMessage({ conversationId: id, content: 'same' });
      const b = await alice.sendMessage({ conversationId: id, content: 'same' });
      assert.notEqual(a, b, 'two sends, two messages');
      const c1 = await alice.sendMessage({ conversationId: id, content: 'c', clientMsgId: 'o-42' });
      const c2 = await alice.sendMessage({ conversationId: id, content: 'd', clientMsgId: 'o-42' });
      assert.equal(c2, c1, 'a repeat answers the first MsgId');
      await rejectsWith(
        alice.sendMessage({ conversationId: id, content: 'e', clientMsgId: 'has space' }),
        10001,
        400,
      );
      const stored = await alice.getLastMessages(id);
      assert.deepEqual(
        stored.map((m) => m.Content),
        ['same', 'same', 'c'],
      );
    },
  );

  it(
    'markRead moves the cursor forward only; conversationList counts what others sent after it',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const older = await alice.createConversation({ type: 2, sessions: ['bob'] });
      const id = await alice.createConversation({ type: 1, sessions: ['bob'] });
      const empty = await alice.createConversation({ type: 0, sessions: ['bob'] });
      await alice.sendMessage({ conversationId: older, content: 'first' });
      const m1 = await alice.sendMessage({ conversationId: id, content: 'm1' });
      const m2 = await alice.sendMessage({ conversationId: id, content: 'm2' });
      const m3 = await alice.sendMessage({ conversationId: id, content: 'm3' });

      const list = await bob.conversationList();
      const mine = list.Conversations.filter((c) => [older, id, empty].includes(c.ConversationID));
      assert.deepEqual(
        mine.map((c) => c.ConversationID),
        [id, older, empty],
        'newest message first, none last',
      );
      const entry = mine[0];
      assert.ok(entry !== undefined);
      assert.deepEqual(
        { ...entry, LastSendTime: typeof entry.LastSendTime },
        {
          ConversationID: id,
          ConversationType: 1,
          IsArchive: false,
          LastMsgID: m3,
          LastSendTime: 'number',
          LastSendSession: 'alice',
          ReadMsgId: null,
          Unread: 3,
        },
      );
      assert.equal(
        list.Total,
        list.Conversations.reduce((sum, c) => sum + c.Unread, 0),
      );

      assert.equal(await bob.markRead(id, m2), m2);
      assert.equal(await bob.markRead(id, m1), m2, 'never back');
      assert.equal(await unreadOf(bob, id), 1);
      assert.equal(await bob.markRead(id, HIGHEST_MSG_ID), m3, 'never past the newest');
      assert.equal(await unreadOf(bob, id), 0);
      assert.equal(await bob.markRead(empty, HIGHEST_MSG_ID), null, 'no message, no cursor');
      // The sender's own messages are never unread: its send moved its cursor.
      const aliceEntry = (await alice.conversationList()).Conversations.find(
        (c) => c.ConversationID === id,
      );
      assert.deepEqual([aliceEntry?.ReadMsgId, aliceEntry?.Unread], [m3, 0]);
      await rejectsWith(carol.markRead(id, m1), 10004, 403);
      await rejectsWith(bob.markRead(id, 'not-an-id'), 10001, 400);
    },
  );

  it(
    'pages members with their cursors and presence, and walks every page',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // 600 members: a full page of 500, then 100.
      const others = Array.from({ length: 598 }, (_, i) => `m${String(i).padStart(3, '0')}`);
      const id = await server.createConversation(['alice', 'bob', ...others]);
      const m = await send(server, await server.token('bob'), id, 'hi');
      const online = await pool.forSession(server, 'alice', 5);
      await online.connect();

      const first = await bob.conversationMembers(id);
      assert.equal(first.ConversationID, id);
      assert.equal(first.Members.length, 500);
      assert.equal(first.Next, first.Members.at(-1)?.Session);
      const second = await bob.conversationMembers(id, first.Next ?? undefined);
      assert.equal(second.Members.length, 100);
      assert.equal(second.Next, null);

      const all: Member[] = [];
      for await (const member of bob.allConversationMembers(id)) all.push(member);
      const sessions = all.map((x) => x.Session);
      assert.deepEqual(sessions, ['alice', 'bob', ...others].sort());
      assert.deepEqual(
        all.find((x) => x.Session === 'alice'),
        {
          Session: 'alice',
          ReadMsgId: null,
          Online: true,
        },
      );
      assert.deepEqual(
        all.find((x) => x.Session === 'bob'),
        {
          Session: 'bob',
          ReadMsgId: m,
          Online: false,
        },
      );
      await rejectsWith(carol.conversationMembers(id), 10004, 403);
    },
  );

  it('refuses options that cannot work', () => {
    const base = { baseUrl: server.url, token: 't' };
    assert.throws(() => new QuickImClient({ ...base, transport: 'poll', events: true }), {
      name: 'TypeError',
      message: /long-poll carries no events/,
    });
    for (const sendRetries of [-1, 1.5, Number.NaN]) {
      assert.throws(() => new QuickImClient({ ...base, sendRetries }), TypeError);
    }
  });
});

async function unreadOf(
  client: QuickImClient,
  conversationId: string,
): Promise<number | undefined> {
  const list = await client.conversationList();
  return list.Conversations.find((c) => c.ConversationID === conversationId)?.Unread;
}
