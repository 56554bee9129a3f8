import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, QuickImError } from '@quick-im/client';
import type { MsgData, QuickImClient } from '@quick-im/client';
import { MSG_ID, UUID_V4 } from '../helpers/http.js';
import { freePort } from '../helpers/processes.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { ClientPool, TEST_TIMEOUT_MS } from './sdk-helpers.js';

/** Asserts `promise` rejects with a QuickImError carrying `code` and HTTP `status`. */
async function rejectsWith(promise: Promise<unknown>, code: number, status: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof QuickImError, `not a QuickImError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status, err.message);
    assert.equal(err.name, 'QuickImError');
    return true;
  });
}

const contents = (msgs: readonly MsgData[]): string[] => msgs.map((m) => m.Content);

describe('QuickImClient HTTP methods', () => {
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
    'creates a conversation, lists it and reads its detail',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const id = await alice.createConversation({ type: 3, sessions: ['bob'] });
      assert.match(id, UUID_V4);
      assert.equal(await alice.isJoined(id), true);
      assert.equal(await bob.isJoined(id), true);
      assert.equal(await carol.isJoined(id), false);
      assert.ok((await alice.getJoinedConversations()).includes(id));
      assert.ok(!(await carol.getJoinedConversations()).includes(id));
      assert.deepEqual(await alice.getConversationDetail(id), {
        ConversationID: id,
        LastMsgID: null,
        LastSendTime: null,
        IsDelete: false,
        ConversationType: 3,
        LastSendSession: null,
        IsArchive: false,
      });
      assert.equal(await alice.getLastMsgId(id), null);
      assert.equal(await alice.getLastMessage(id), null);
      assert.deepEqual(await alice.getLastMessages(id), []);
    },
  );

  it(
    'sends messages and reads them back through every history method',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const id = await alice.createConversation({ type: 0, sessions: ['bob'] });
      const m1 = await alice.sendMessage({ conversationId: id, content: 'one' });
      const m2 = await bob.sendMessage({ conversationId: id, content: 'two', type: 7, status: -3 });
      const m3 = await alice.sendMessage({ conversationId: id, content: 'three' });
      for (const m of [m1, m2, m3]) assert.match(m, MSG_ID);
      assert.ok(m1 < m2 && m2 < m3, 'ids grow within a conversation');

      assert.equal(await bob.getLastMsgId(id), m3);
      const last = await bob.getLastMessage(id);
      assert.deepEqual(
        { ...last, SendTime: 0 },
        {
          MsgId: m3,
          ConversationID: id,
          FromSession: 'alice',
          SendTime: 0,
          Status: 0,
          Type: 0,
          Content: 'three',
        },
      );
      assert.ok(Number.isInteger(last?.SendTime) && (last?.SendTime ?? 0) > 1e15, 'microseconds');

      const all = await alice.getLastMessages(id);
      assert.deepEqual(contents(all), ['one', 'two', 'three']);
      const second = all[1];
      assert.equal(second?.Type, 7);
      assert.equal(second?.Status, -3);
      assert.equal(second?.FromSession, 'bob');
      assert.deepEqual(contents(await alice.getLastMessages(id, { desc: true })), [
        'three',
        'two',
        'one',
      ]);
      assert.deepEqual(contents(await alice.getMessagesBefore(id, m3)), ['one', 'two']);
      assert.deepEqual(contents(await alice.getMessagesBefore(id, m3, { desc: true })), [
        'two',
        'one',
      ]);
      assert.deepEqual(contents(await alice.getMessagesAfter(id, m1)), ['two', 'three']);
      assert.deepEqual(contents(await alice.getMessagesByRange(id, m1, m2)), ['one', 'two']);
      assert.deepEqual(contents(await alice.getMessagesByRange(id, m1, m3, { desc: true })), [
        'three',
        'two',
        'one',
      ]);

      const detail = await alice.getConversationDetail(id);
      assert.equal(detail.LastMsgID, m3);
      assert.equal(detail.LastSendSession, 'alice');
      assert.equal(detail.LastSendTime, last?.SendTime);
    },
  );

  it('joins and leaves', { timeout: TEST_TIMEOUT_MS }, async () => {
    const id = await alice.createConversation({ type: 1 });
    assert.equal(await carol.isJoined(id), false);
    assert.equal(await carol.joinConversation(id), undefined);
    await carol.joinConversation(id);
    assert.equal(await carol.isJoined(id), true);
    await carol.sendMessage({ conversationId: id, content: 'carol was here' });
    assert.equal(await carol.leaveConversation(id), undefined);
    assert.equal(await carol.isJoined(id), false);
    await carol.leaveConversation(id);
  });

  it('rejects with the contract code and status', { timeout: TEST_TIMEOUT_MS }, async () => {
    const id = await alice.createConversation({ type: 0 });
    await rejectsWith(
      carol.sendMessage({ conversationId: id, content: 'x' }),
      ErrorCode.NotMember,
      403,
    );
    await rejectsWith(carol.getLastMessages(id), 10004, 403);
    await rejectsWith(
      alice.getConversationDetail(randomUUID()),
      ErrorCode.ConversationNotFound,
      404,
    );
    await rejectsWith(
      alice.sendMessage({ conversationId: randomUUID(), content: 'x' }),
      10005,
      404,
    );
    await rejectsWith(alice.getMessagesBefore(id, 'not-a-msg-id'), ErrorCode.InvalidParameter, 400);
    await rejectsWith(alice.getConversationDetail(''), 10001, 400);
    await rejectsWith(alice.createConversation({ type: 16 }), ErrorCode.BadConversationType, 400);
    assert.equal(await alice.isJoined(randomUUID()), false, 'unknown conversation: not joined');
  });

  it(
    'rejects with 10101 when the token is bad and there is no getToken',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const client = pool.create(server, { token: 'not-a-token' });
      await rejectsWith(client.getJoinedConversations(), ErrorCode.Unauthorized, 401);
    },
  );

  it(
    'rejects with status 0 when the server cannot be reached',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const client = pool.create(`http://127.0.0.1:${await freePort()}`, { token: 't' });
      await rejectsWith(client.getJoinedConversations(), ErrorCode.Network, 0);
    },
  );

  it(
    'renews a rejected token with getToken and retries the call once',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      let calls = 0;
      const client = pool.create(server, {
        token: 'expired-or-forged',
        getToken: async () => {
          calls++;
          return server.token('carol');
        },
      });
      assert.ok(Array.isArray(await client.getJoinedConversations()));
      assert.equal(calls, 1);
      await client.getJoinedConversations();
      assert.equal(calls, 1, 'the renewed token is kept');
    },
  );

  it(
    'rejects with 10101 when getToken only gives rejected tokens',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      let calls = 0;
      const client = pool.create(server, {
        getToken: async () => {
          calls++;
          return 'still-bad';
        },
      });
      await rejectsWith(client.getJoinedConversations(), 10101, 401);
      assert.equal(calls, 2, 'one call for the first token, one renewal, then no more retries');
    },
  );
});
