import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BusEvent } from '../../src/bus/bus.js';
import { MSG_ID, expectFailure, expectOk } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

/** Every message of a conversation, oldest first (at most 30: these tests send fewer). */
async function history(server: TestServer, token: string, c: string): Promise<string[]> {
  const data = expectOk(
    await server.post('/get_conversation_last_30_msg', { conversation_id: c }, token),
  );
  return data.Msg.map((m: { Content: string }) => m.Content);
}

/** The bus events of `type` published while `fn` runs. */
async function published(
  server: TestServer,
  type: BusEvent['type'],
  fn: () => Promise<void>,
): Promise<BusEvent[]> {
  const seen: BusEvent[] = [];
  const stop = server.app.bus.subscribe((e) => {
    if (e.type === type) seen.push(e);
  });
  try {
    await fn();
  } finally {
    stop();
  }
  return seen;
}

describe('idempotent send (client_msg_id)', () => {
  let server: TestServer;
  let alice: string;
  let bob: string;

  before(async () => {
    server = await startServer();
    alice = await server.token('alice');
    bob = await server.token('bob');
  });
  after(() => server?.close(true));

  const send = (c: string, token: string, extra: Record<string, unknown> = {}) =>
    server.post(
      '/send_msg',
      { conversation_id: c, status: 0, type: 1, content: 'hi', ...extra },
      token,
    );

  it('answers a retry with the first MsgID, even with other fields, and stores and pushes nothing', async () => {
    const c = await server.createConversation(['alice', 'bob']);
    const first = expectOk(await send(c, alice, { client_msg_id: 'retry-1', content: 'one' }));
    assert.match(first.MsgID, MSG_ID);
    const events = await published(server, 'message', async () => {
      const again = expectOk(
        await send(c, alice, { client_msg_id: 'retry-1', content: 'two', status: 9, type: 4 }),
      );
      assert.deepEqual(again, { MsgID: first.MsgID });
    });
    assert.deepEqual(events, []);
    assert.deepEqual(await history(server, alice, c), ['one']);
  });

  it('stores one message for ten concurrent retries with one client_msg_id', async () => {
    const c = await server.createConversation(['alice', 'bob']);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send(c, alice, { client_msg_id: 'ten-at-once', content: `try ${i}` }),
      ),
    );
    const ids = new Set(answers.map((a) => expectOk(a).MsgID));
    assert.equal(ids.size, 1);
    assert.equal((await history(server, alice, c)).length, 1);
  });

  it('keeps keys apart per session and per conversation; null means none', async () => {
    const c = await server.createConversation(['alice', 'bob']);
    const d = await server.createConversation(['alice']);
    const ids = [
      expectOk(await send(c, alice, { client_msg_id: 'k' })).MsgID,
      expectOk(await send(c, bob, { client_msg_id: 'k' })).MsgID,
      expectOk(await send(d, alice, { client_msg_id: 'k' })).MsgID,
      expectOk(await send(c, alice, { client_msg_id: null })).MsgID,
      expectOk(await send(c, alice, { client_msg_id: null })).MsgID,
    ];
    assert.equal(new Set(ids).size, 5);
  });

  it('deduplicates across platforms and between /send_msg and /inner/send_msg', async () => {
    const c = await server.createConversation(['alice', 'bob']);
    const phone = await server.token('alice', 2);
    const first = expectOk(await send(c, alice, { client_msg_id: 'xplat' })).MsgID;
    assert.equal(expectOk(await send(c, phone, { client_msg_id: 'xplat' })).MsgID, first);
    const inner = await server.post('/inner/send_msg', {
      conversation_id: c,
      from_session: 'alice',
      status: 0,
      type: 1,
      content: 'inner',
      client_msg_id: 'xplat',
    });
    assert.equal(expectOk(inner).MsgID, first);
    assert.equal((await history(server, alice, c)).length, 1);
  });

  it('accepts every printable ASCII character and 64 of them', async () => {
    const c = await server.createConversation(['alice']);
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('');
    for (const key of [printable.slice(0, 64), printable.slice(64), '!', '~'.repeat(64)]) {
      expectOk(await send(c, alice, { client_msg_id: key }));
    }
    assert.equal((await history(server, alice, c)).length, 4);
  });

  it('refuses a bad client_msg_id with 10001 and stores nothing', async () => {
    const c = await server.createConversation(['alice']);
    const bad: unknown[] = [
      '',
      'x'.repeat(65),
      'has space',
      'tab\t',
      'é',
      '\u007f',
      1,
      true,
      {},
      [],
    ];
    for (const key of bad) {
      expectFailure(await send(c, alice, { client_msg_id: key }), 10001);
      const inner = await server.post('/inner/send_msg', {
        conversation_id: c,
        from_session: 'alice',
        status: 0,
        type: 1,
        content: 'x',
        client_msg_id: key,
      });
      expectFailure(inner, 10001);
    }
    assert.deepEqual(await history(server, alice, c), []);
  });
});

describe('/inner/send_msg', () => {
  let server: TestServer;
  let alice: string;

  before(async () => {
    server = await startServer();
    alice = await server.token('alice');
  });
  after(() => server?.close(true));

  const innerSend = (body: Record<string, unknown>) =>
    server.post('/inner/send_msg', { status: 3, type: 7, content: 'notice', ...body });

  it('stores and pushes a message from a session that is not a member', async () => {
    const c = await server.createConversation(['alice']);
    const events = await published(server, 'message', async () => {
      const data = expectOk(await innerSend({ conversation_id: c, from_session: 'system' }));
      assert.deepEqual(Object.keys(data), ['MsgID']);
      assert.match(data.MsgID, MSG_ID);
    });
    assert.equal(events.length, 1);
    const msgs = expectOk(
      await server.post('/get_conversation_last_30_msg', { conversation_id: c }, alice),
    ).Msg;
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].FromSession, 'system');
    assert.equal(msgs[0].Status, 3);
    assert.equal(msgs[0].Type, 7);
    const joined = expectOk(
      await server.post('/inner/get_members', { conversation_id: c }),
    ).Members.map((m: { Session: string }) => m.Session);
    assert.deepEqual(joined, ['alice'], 'the sender does not become a member');
  });

  it('is idempotent like /send_msg', async () => {
    const c = await server.createConversation(['alice']);
    const body = { conversation_id: c, from_session: 'bot', client_msg_id: 'bot-1' };
    const first = expectOk(await innerSend(body)).MsgID;
    const events = await published(server, 'message', async () => {
      assert.equal(expectOk(await innerSend({ ...body, content: 'changed' })).MsgID, first);
    });
    assert.deepEqual(events, []);
  });

  it("moves a member sender's cursor, and not a non-member's", async () => {
    const c = await server.createConversation(['alice', 'bob']);
    const own = expectOk(await innerSend({ conversation_id: c, from_session: 'alice' })).MsgID;
    expectOk(await innerSend({ conversation_id: c, from_session: 'system' }));
    const members = expectOk(await server.post('/inner/get_members', { conversation_id: c }));
    assert.deepEqual(
      members.Members.map((m: { Session: string; ReadMsgId: string | null }) => [
        m.Session,
        m.ReadMsgId,
      ]),
      [
        ['alice', own],
        ['bob', null],
      ],
    );
    const list = expectOk(await server.post('/get_conversation_list', {}, alice));
    assert.equal(list.Conversations[0].Unread, 1, 'the system message is unread for alice');
  });

  it('answers 10005 for an unknown conversation and 10001 for bad input, storing nothing', async () => {
    expectFailure(await innerSend({ conversation_id: 'no-such', from_session: 'bot' }), 10005);
    const c = await server.createConversation(['alice']);
    const bad: Record<string, unknown>[] = [
      { conversation_id: c },
      { conversation_id: c, from_session: '' },
      { conversation_id: c, from_session: 'x'.repeat(129) },
      { conversation_id: c, from_session: 'é'.repeat(65) },
      { conversation_id: c, from_session: 7 },
      { conversation_id: c, from_session: 'bot', status: 'x' },
      { conversation_id: c, from_session: 'bot', content: null },
      { conversation_id: '', from_session: 'bot' },
    ];
    for (const body of bad) expectFailure(await innerSend(body), 10001);
    expectFailure(
      await server.post('/inner/send_msg', { conversation_id: c, from_session: 'bot' }),
      10001,
    );
    const msgs = expectOk(
      await server.post('/get_conversation_last_30_msg', { conversation_id: c }, alice),
    ).Msg;
    assert.deepEqual(msgs, []);
  });
});

describe('idempotency across a restart', () => {
  it('answers a retry after a restart on the same data with the first MsgID', async () => {
    const first = await startServer();
    let second: TestServer | undefined;
    try {
      const alice = await first.token('alice');
      const c = await first.createConversation(['alice']);
      const body = { conversation_id: c, status: 0, type: 1, content: 'x', client_msg_id: 'r' };
      const id = expectOk(await first.post('/send_msg', body, alice)).MsgID;
      await first.close();
      second = await startServer({ dataDir: first.dataDir });
      const again = expectOk(await second.post('/send_msg', body, await second.token('alice')));
      assert.equal(again.MsgID, id);
    } finally {
      await second?.close(true);
    }
  });
});
