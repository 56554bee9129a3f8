import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectFailure, expectOk } from '../helpers/http.js';
import type { ApiResponse } from '../helpers/server.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

/** A 429 / 10006 with a whole-seconds `Retry-After` of at least 1; returns it. */
function expectLimited(res: ApiResponse): number {
  expectFailure(res, 10006);
  const retryAfter = res.headers.get('retry-after') ?? '';
  assert.match(retryAfter, /^\d+$/, `Retry-After: ${retryAfter}`);
  assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
  return Number(retryAfter);
}

function send(server: TestServer, token: string, conversation: string, content: string) {
  return server.post(
    '/send_msg',
    { conversation_id: conversation, status: 0, type: 0, content },
    token,
  );
}

async function history(server: TestServer, token: string, conversation: string) {
  const page = expectOk(
    await server.post('/get_conversation_last_30_msg', { conversation_id: conversation }, token),
  );
  return (page.Msg as { Content: string }[]).map((m) => m.Content);
}

describe('--send-rate', () => {
  it('lets a burst of twice the rate through, then answers 429 / 10006 and stores nothing', async () => {
    const clock = new ManualClock();
    const server = await startServer({ sendRate: 20 }, { clock });
    try {
      const alice = await server.token('alice');
      const bob = await server.token('bob');
      const conversation = await server.createConversation(['alice', 'bob']);
      const burst = await Promise.all(
        Array.from({ length: 40 }, (_, i) => send(server, alice, conversation, `m${i}`)),
      );
      const ids = new Set(burst.map((res) => expectOk(res).MsgID as string));
      assert.equal(ids.size, 40);
      const retryAfter = expectLimited(await send(server, alice, conversation, 'over'));
      assert.equal(retryAfter, 1);
      assert.ok(!(await history(server, alice, conversation)).includes('over'));
      const last = expectOk(
        await server.post('/get_lastone_msgid', { conversation_id: conversation }, alice),
      );
      assert.ok(ids.has(last.MsgId), 'the newest message is one of the burst');
      // Per session: bob still has his own bucket.
      expectOk(await send(server, bob, conversation, 'bob'));

      clock.advance(1000);
      for (let i = 0; i < 20; i++) expectOk(await send(server, alice, conversation, `later${i}`));
      expectLimited(await send(server, alice, conversation, 'over again'));
      const contents = await history(server, alice, conversation);
      assert.ok(!contents.includes('over again'));
      assert.equal(contents.filter((c) => c.startsWith('later')).length, 20);
    } finally {
      await server.close(true);
    }
  });

  it('is off at 0', async () => {
    const server = await startServer({ sendRate: 0 }, { clock: new ManualClock() });
    try {
      const alice = await server.token('alice');
      const conversation = await server.createConversation(['alice']);
      for (let i = 0; i < 60; i++) expectOk(await send(server, alice, conversation, `m${i}`));
    } finally {
      await server.close(true);
    }
  });
});

describe('--join-rate', () => {
  it('counts public creates and joins in one bucket; inner calls are not limited', async () => {
    const clock = new ManualClock();
    // 3 a minute: a burst of 6, then one every 20 s.
    const server = await startServer({ joinRate: 3 }, { clock });
    try {
      const alice = await server.token('alice');
      const others = await Promise.all([1, 2, 3, 4].map(() => server.createConversation(['bob'])));
      for (let i = 0; i < 3; i++) {
        expectOk(await server.post('/create_conversation', { conversation_type: 0 }, alice));
      }
      for (const id of others.slice(0, 3)) {
        expectOk(await server.post('/join_conversation', { conversation_id: id }, alice));
      }
      const before = expectOk(await server.post('/get_joined_conversation', {}, alice));
      assert.equal(before.Conversations.length, 6);

      const fourth = others[3] as string;
      assert.equal(
        expectLimited(await server.post('/join_conversation', { conversation_id: fourth }, alice)),
        20,
      );
      expectLimited(await server.post('/create_conversation', { conversation_type: 0 }, alice));
      const after = expectOk(await server.post('/get_joined_conversation', {}, alice));
      assert.deepEqual(after.Conversations.sort(), before.Conversations.sort(), 'nothing stored');

      // The inner routes are the backend's: never limited.
      for (let i = 0; i < 10; i++) await server.createConversation(['alice']);
      expectOk(
        await server.post('/inner/join_conversation', {
          conversation_id: fourth,
          sessions: ['alice'],
        }),
      );

      clock.advance(20_000);
      expectOk(await server.post('/create_conversation', { conversation_type: 0 }, alice));
      expectLimited(await server.post('/create_conversation', { conversation_type: 0 }, alice));
    } finally {
      await server.close(true);
    }
  });
});
