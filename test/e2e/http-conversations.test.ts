import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { UUID_V4, expectFailure, expectOk, request } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('conversations over HTTP', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();

  function tokenOf(session: string): string {
    const token = tokens.get(session);
    assert.ok(token, `no token for ${session}`);
    return token;
  }

  async function call(session: string, path: string, body: unknown) {
    return server.post(path, body, tokenOf(session));
  }

  async function isJoined(session: string, conversationId: string): Promise<boolean> {
    const data = expectOk(
      await call(session, '/check_joined_conversation', { conversation_id: conversationId }),
    );
    assert.deepEqual(Object.keys(data), ['Joined']);
    return data.Joined;
  }

  async function joined(session: string): Promise<string[]> {
    const data = expectOk(await call(session, '/get_joined_conversation', {}));
    assert.deepEqual(Object.keys(data), ['Conversations']);
    return data.Conversations;
  }

  function send(session: string, conversationId: string, content = 'hi') {
    return call(session, '/send_msg', {
      conversation_id: conversationId,
      status: 0,
      type: 1,
      content,
    });
  }

  before(async () => {
    server = await startServer();
    for (const s of ['alice', 'bob', 'carol', 'dave', 'erin']) tokens.set(s, await server.token(s));
  });

  after(() => server.close(true));

  it('creates a conversation for the caller and the given sessions', async () => {
    const data = expectOk(
      await call('alice', '/create_conversation', { conversation_type: 3, sessions: ['bob'] }),
    );
    assert.deepEqual(Object.keys(data), ['ConversationId']);
    assert.match(data.ConversationId, UUID_V4);
    const id: string = data.ConversationId;
    assert.equal(await isJoined('alice', id), true);
    assert.equal(await isJoined('bob', id), true);
    assert.equal(await isJoined('carol', id), false);

    const detail = expectOk(await call('bob', '/get_conversation_detail', { conversation_id: id }));
    assert.deepEqual(detail, {
      ConversationID: id,
      LastMsgID: null,
      LastSendTime: null,
      IsDelete: false,
      ConversationType: 3,
      LastSendSession: null,
      IsArchive: false,
    });
  });

  it('creates a conversation with only the caller when sessions is missing', async () => {
    const { ConversationId: id } = expectOk(
      await call('carol', '/create_conversation', { conversation_type: 0 }),
    );
    assert.equal(await isJoined('carol', id), true);
    assert.equal(await isJoined('alice', id), false);
  });

  it('creates through /inner/create_conversation with exactly the given members', async () => {
    const data = expectOk(
      await server.post('/inner/create_conversation', {
        conversation_type: 15,
        sessions: ['bob', 'carol', 'bob'],
      }),
    );
    assert.deepEqual(Object.keys(data), ['ConversationId']);
    assert.match(data.ConversationId, UUID_V4);
    const id: string = data.ConversationId;
    assert.equal(await isJoined('bob', id), true);
    assert.equal(await isJoined('carol', id), true);
    assert.equal(await isJoined('alice', id), false);
    const detail = expectOk(
      await call('carol', '/get_conversation_detail', { conversation_id: id }),
    );
    assert.equal(detail.ConversationType, 15);
  });

  it('answers check_joined_conversation false for a conversation that does not exist', async () => {
    assert.equal(await isJoined('alice', randomUUID()), false);
    assert.equal(await isJoined('alice', 'x'.repeat(64)), false);
  });

  it("lists the conversations the token's session is a member of", async () => {
    assert.deepEqual(await joined('dave'), []);
    const a = await server.createConversation(['dave', 'erin']);
    const b = await server.createConversation(['dave']);
    await server.createConversation(['erin']);
    assert.deepEqual((await joined('dave')).sort(), [a, b].sort());

    // The body is optional and never names another session.
    const viaEmpty = expectOk(
      await request(server.url + '/get_joined_conversation', {
        headers: { authorization: `Bearer ${tokenOf('dave')}` },
      }),
    );
    assert.deepEqual(viaEmpty.Conversations.sort(), [a, b].sort());
    const viaOther = expectOk(
      await call('dave', '/get_joined_conversation', { session: 'erin', sessions: ['erin'] }),
    );
    assert.deepEqual(viaOther.Conversations.sort(), [a, b].sort());

    expectOk(await call('dave', '/leave_conversation', { conversation_id: a }));
    assert.deepEqual(await joined('dave'), [b]);
  });

  it('joins idempotently and answers the conversation id', async () => {
    const id = await server.createConversation(['alice']);
    for (let i = 0; i < 2; i++) {
      const data = expectOk(await call('bob', '/join_conversation', { conversation_id: id }));
      assert.deepEqual(data, { ConversationId: id });
    }
    assert.equal(await isJoined('bob', id), true);
    assert.equal((await joined('bob')).filter((c) => c === id).length, 1);
  });

  it('leaves idempotently, and a session that left may join again', async () => {
    const id = await server.createConversation(['alice', 'bob']);
    for (let i = 0; i < 2; i++) {
      const data = expectOk(await call('bob', '/leave_conversation', { conversation_id: id }));
      assert.deepEqual(data, { ConversationId: id });
    }
    assert.equal(await isJoined('bob', id), false);
    expectFailure(await send('bob', id), 10004);
    // A session that never was a member leaves as a no-op.
    assert.deepEqual(
      expectOk(await call('carol', '/leave_conversation', { conversation_id: id })),
      { ConversationId: id },
    );
    assert.equal(await isJoined('carol', id), false);

    expectOk(await call('bob', '/join_conversation', { conversation_id: id }));
    assert.equal(await isJoined('bob', id), true);
    expectOk(await send('bob', id));
  });

  it('keeps a kicked session out until an inner join', async () => {
    const id = await server.createConversation(['alice', 'bob']);
    expectOk(await send('bob', id, 'before the kick'));
    const kicked = expectOk(
      await server.post('/inner/kickout_conversation', { conversation_id: id, sessions: ['bob'] }),
    );
    assert.deepEqual(kicked, { ConversationId: id });

    assert.equal(await isJoined('bob', id), false);
    assert.equal((await joined('bob')).includes(id), false);
    expectFailure(await call('bob', '/join_conversation', { conversation_id: id }), 10004);
    expectFailure(await send('bob', id), 10004);
    expectFailure(await call('bob', '/get_conversation_detail', { conversation_id: id }), 10004);
    expectFailure(
      await call('bob', '/get_conversation_last_30_msg', { conversation_id: id }),
      10004,
    );
    expectFailure(await call('bob', '/get_lastone_msgid', { conversation_id: id }), 10004);
    // Leaving does not launder a kick.
    expectOk(await call('bob', '/leave_conversation', { conversation_id: id }));
    expectFailure(await call('bob', '/join_conversation', { conversation_id: id }), 10004);

    const rejoined = expectOk(
      await server.post('/inner/join_conversation', { conversation_id: id, sessions: ['bob'] }),
    );
    assert.deepEqual(rejoined, { ConversationId: id });
    assert.equal(await isJoined('bob', id), true);
    expectOk(await call('bob', '/join_conversation', { conversation_id: id }));
    expectOk(await send('bob', id, 'after the inner join'));
    const history = expectOk(
      await call('bob', '/get_conversation_last_30_msg', { conversation_id: id }),
    );
    assert.deepEqual(
      history.Msg.map((m: { Content: string }) => m.Content),
      ['before the kick', 'after the inner join'],
    );
  });

  it('answers 10004 to a non-member and 10005 for an unknown conversation', async () => {
    const id = await server.createConversation(['alice']);
    const unknown = randomUUID();
    const msgId = '2222A-2222-2222-222';
    const bodies: [string, Record<string, unknown>][] = [
      ['/send_msg', { status: 0, type: 0, content: 'x' }],
      ['/get_conversation_detail', {}],
      ['/get_lastone_msgid', {}],
      ['/get_conversation_msg_by_range', { start_msg_id: msgId, end_msg_id: msgId }],
      ['/get_conversation_30msg_before_the_id', { msg_id: msgId }],
      ['/get_conversation_30msg_after_the_id', { msg_id: msgId }],
      ['/get_conversation_last_30_msg', {}],
      ['/get_conversation_lastone_msg', { desc: true }],
    ];
    for (const [path, extra] of bodies) {
      expectFailure(await call('carol', path, { conversation_id: id, ...extra }), 10004);
      expectFailure(await call('carol', path, { conversation_id: unknown, ...extra }), 10005);
    }
    for (const path of ['/join_conversation', '/leave_conversation']) {
      expectFailure(await call('carol', path, { conversation_id: unknown }), 10005);
    }
    for (const path of ['/inner/kickout_conversation', '/inner/join_conversation']) {
      expectFailure(
        await server.post(path, { conversation_id: unknown, sessions: ['carol'] }),
        10005,
      );
    }
    assert.equal(await isJoined('carol', id), false);
  });

  it('archives and unarchives conversations, all or nothing', async () => {
    const a = await server.createConversation(['alice']);
    const b = await server.createConversation(['alice']);
    const isArchived = async (id: string): Promise<boolean> =>
      expectOk(await call('alice', '/get_conversation_detail', { conversation_id: id })).IsArchive;

    const archived = await server.post('/inner/set_archive_conversations', {
      conversation_ids: [a, b],
      is_archive: true,
    });
    assert.equal(archived.status, 200);
    assert.deepEqual(archived.body, { code: 0 });
    assert.deepEqual(Object.keys(archived.body), ['code']);
    assert.equal(await isArchived(a), true);
    assert.equal(await isArchived(b), true);

    const unarchived = await server.post('/inner/set_archive_conversations', {
      conversation_ids: [b],
      is_archive: false,
    });
    assert.deepEqual(unarchived.body, { code: 0 });
    assert.equal(await isArchived(a), true);
    assert.equal(await isArchived(b), false);

    expectFailure(
      await server.post('/inner/set_archive_conversations', {
        conversation_ids: [b, randomUUID()],
        is_archive: true,
      }),
      10005,
    );
    assert.equal(await isArchived(b), false);
    const none = await server.post('/inner/set_archive_conversations', {
      conversation_ids: [],
      is_archive: true,
    });
    assert.deepEqual(none.body, { code: 0 });
  });

  it('lets a member read what was sent before it joined', async () => {
    const id = await server.createConversation(['alice']);
    for (const content of ['one', 'two', 'three']) expectOk(await send('alice', id, content));
    expectOk(await call('erin', '/join_conversation', { conversation_id: id }));
    const history = expectOk(
      await call('erin', '/get_conversation_last_30_msg', { conversation_id: id }),
    );
    assert.deepEqual(
      history.Msg.map((m: { Content: string }) => m.Content),
      ['one', 'two', 'three'],
    );
  });

  it('accepts session ids that name Object.prototype members', async () => {
    const odd = ['__proto__', 'constructor', 'hasOwnProperty'];
    const id = await server.createConversation(odd);
    for (const s of odd) {
      tokens.set(s, await server.token(s));
      assert.equal(await isJoined(s, id), true);
      assert.deepEqual(await joined(s), [id]);
    }
    expectOk(await send('__proto__', id, 'from __proto__'));
    const last = expectOk(
      await call('constructor', '/get_conversation_lastone_msg', { conversation_id: id }),
    );
    assert.equal(last.Msg[0].FromSession, '__proto__');
  });
});
