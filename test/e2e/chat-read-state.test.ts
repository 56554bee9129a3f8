import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ReadEvent } from '../../src/bus/bus.js';
import { HIGHEST_MSG_ID, LOWEST_MSG_ID, expectFailure, expectOk } from '../helpers/http.js';
import { closeAll, openPush } from '../helpers/push-clients.js';
import type { PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const LIST_KEYS = [
  'ConversationID',
  'ConversationType',
  'IsArchive',
  'LastMsgID',
  'LastSendTime',
  'LastSendSession',
  'ReadMsgId',
  'Unread',
];

interface ListEntry {
  ConversationID: string;
  ReadMsgId: string | null;
  Unread: number;
  LastMsgID: string | null;
}

describe('read state over HTTP', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();
  const open = new Set<PushClient>();

  before(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });
  after(() => server?.close(true));

  async function token(session: string): Promise<string> {
    let t = tokens.get(session);
    if (t === undefined) tokens.set(session, (t = await server.token(session)));
    return t;
  }

  async function send(c: string, session: string): Promise<string> {
    const res = await server.post(
      '/send_msg',
      { conversation_id: c, status: 0, type: 1, content: 'x' },
      await token(session),
    );
    return expectOk(res).MsgID;
  }

  async function markRead(c: string, session: string, msgId: string) {
    return server.post('/mark_read', { conversation_id: c, msg_id: msgId }, await token(session));
  }

  async function list(session: string): Promise<{ Total: number; Conversations: ListEntry[] }> {
    const data = expectOk(await server.post('/get_conversation_list', {}, await token(session)));
    assert.deepEqual(Object.keys(data), ['Total', 'Conversations']);
    for (const e of data.Conversations) assert.deepEqual(Object.keys(e), LIST_KEYS);
    return data;
  }

  async function entry(session: string, c: string): Promise<ListEntry> {
    const found = (await list(session)).Conversations.find((e) => e.ConversationID === c);
    assert.ok(found, `${session} lists ${c}`);
    return found;
  }

  const unread = async (session: string, c: string) => (await entry(session, c)).Unread;

  it('counts unread after sends, reads, joins and leaves', async () => {
    const c = await server.createConversation(['u-alice', 'u-bob']);
    assert.deepEqual(await entry('u-alice', c), {
      ConversationID: c,
      ConversationType: 0,
      IsArchive: false,
      LastMsgID: null,
      LastSendTime: null,
      LastSendSession: null,
      ReadMsgId: null,
      Unread: 0,
    });
    const b1 = await send(c, 'u-bob');
    await send(c, 'u-bob');
    assert.equal(await unread('u-alice', c), 2);
    assert.equal(await unread('u-bob', c), 0, 'own messages are never unread');
    expectOk(await markRead(c, 'u-alice', b1));
    assert.equal(await unread('u-alice', c), 1);
    const a1 = await send(c, 'u-alice');
    assert.equal(await unread('u-alice', c), 0, 'a send moves the sender’s cursor');
    assert.equal((await entry('u-alice', c)).ReadMsgId, a1);
    assert.equal(await unread('u-bob', c), 1);

    // A join: history before it is not unread.
    expectOk(
      await server.post('/join_conversation', { conversation_id: c }, await token('u-carol')),
    );
    assert.equal(await unread('u-carol', c), 0);
    assert.equal((await entry('u-carol', c)).ReadMsgId, a1);
    await send(c, 'u-bob');
    assert.equal(await unread('u-carol', c), 1);
    // Joining again as a member moves nothing.
    expectOk(
      await server.post('/join_conversation', { conversation_id: c }, await token('u-carol')),
    );
    assert.equal(await unread('u-carol', c), 1);

    // A leave drops the conversation from the list; an inner join brings it back, all read.
    expectOk(
      await server.post('/leave_conversation', { conversation_id: c }, await token('u-carol')),
    );
    assert.ok(!(await list('u-carol')).Conversations.some((e) => e.ConversationID === c));
    await send(c, 'u-bob');
    expectOk(
      await server.post('/inner/join_conversation', { conversation_id: c, sessions: ['u-carol'] }),
    );
    assert.equal(await unread('u-carol', c), 0);
    const kicked = await server.post('/inner/kickout_conversation', {
      conversation_id: c,
      sessions: ['u-bob'],
    });
    expectOk(kicked);
    assert.ok(!(await list('u-bob')).Conversations.some((e) => e.ConversationID === c));
  });

  it('orders the list newest first, without messages last, and totals the unread', async () => {
    const s = 'order-me';
    const empty = await server.createConversation([s]);
    const older = await server.createConversation([s, 'o-other']);
    const newer = await server.createConversation([s, 'o-other']);
    await send(older, 'o-other');
    await send(newer, 'o-other');
    await send(newer, 'o-other');
    const data = await list(s);
    assert.deepEqual(
      data.Conversations.map((e) => e.ConversationID),
      [newer, older, empty],
    );
    assert.equal(data.Total, 3);
    // The body is optional.
    const none = await fetch(`${server.url}/get_conversation_list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(s)}` },
    });
    assert.equal(none.status, 200);
    assert.equal(((await none.json()) as { data: { Total: number } }).data.Total, 3);
  });

  it('moves the cursor to min(msg_id, LastMsgID), never back, and announces only a move', async () => {
    const c = await server.createConversation(['r-alice', 'r-bob']);
    const res = await markRead(c, 'r-alice', HIGHEST_MSG_ID);
    assert.deepEqual(expectOk(res), { ConversationId: c, ReadMsgId: null });
    const m1 = await send(c, 'r-bob');
    const m2 = await send(c, 'r-bob');
    const events: ReadEvent[] = [];
    const stop = server.app.bus.subscribe((e) => {
      if (e.type === 'read') events.push(e);
    });
    try {
      assert.equal(expectOk(await markRead(c, 'r-alice', m1)).ReadMsgId, m1);
      assert.equal(expectOk(await markRead(c, 'r-alice', LOWEST_MSG_ID)).ReadMsgId, m1);
      assert.equal(expectOk(await markRead(c, 'r-alice', HIGHEST_MSG_ID)).ReadMsgId, m2);
      assert.equal(expectOk(await markRead(c, 'r-alice', HIGHEST_MSG_ID)).ReadMsgId, m2);
    } finally {
      stop();
    }
    assert.deepEqual(events, [
      { type: 'read', conversationId: c, session: 'r-alice', readMsgId: m1 },
      { type: 'read', conversationId: c, session: 'r-alice', readMsgId: m2 },
    ]);
  });

  it('refuses mark_read to non-members (10004), unknown conversations (10005) and bad input (10001)', async () => {
    const c = await server.createConversation(['b-alice']);
    const m = await send(c, 'b-alice');
    expectFailure(await markRead(c, 'b-stranger', m), 10004);
    expectFailure(await markRead('no-such-conversation', 'b-alice', m), 10005);
    const t = await token('b-alice');
    const bad: unknown[] = [
      {},
      { conversation_id: c },
      { msg_id: m },
      { conversation_id: c, msg_id: 'not-an-id' },
      { conversation_id: c, msg_id: null },
      { conversation_id: c, msg_id: 5 },
      { conversation_id: '', msg_id: m },
      { conversation_id: 'x'.repeat(65), msg_id: m },
    ];
    for (const body of bad) expectFailure(await server.post('/mark_read', body, t), 10001);
    expectFailure(await server.post('/mark_read', { conversation_id: c, msg_id: m }), 10101);
    const members = expectOk(await server.post('/inner/get_members', { conversation_id: c }));
    assert.equal(members.Members[0].ReadMsgId, m, 'only its own send moved the cursor');
    expectFailure(await server.post('/get_conversation_list', [], t), 10001);
  });

  it('pages 1,200 members 500 at a time in byte order, with cursors and Online', async () => {
    const sessions = Array.from({ length: 1200 }, (_, i) => `m-${String(i).padStart(4, '0')}`);
    const c = await server.createConversation(sessions.slice(0, 1000));
    expectOk(
      await server.post('/inner/join_conversation', {
        conversation_id: c,
        sessions: sessions.slice(1000),
      }),
    );
    const last = await send(c, 'm-0007');
    const push = await openPush(server, 'ws', await token('m-0501'));
    open.add(push);

    const pages: { Session: string; ReadMsgId: string | null; Online: boolean }[][] = [];
    let after: string | null = null;
    const t = await token('m-0000');
    for (;;) {
      const data = expectOk(
        await server.post('/get_conversation_members', { conversation_id: c, after }, t),
      );
      assert.deepEqual(Object.keys(data), ['ConversationID', 'Members', 'Next']);
      assert.equal(data.ConversationID, c);
      pages.push(data.Members);
      const inner = expectOk(
        await server.post('/inner/get_members', { conversation_id: c, after }),
      );
      assert.deepEqual(inner, data, 'the inner route answers the same page');
      if (data.Next === null) break;
      assert.equal(data.Next, data.Members[data.Members.length - 1].Session);
      after = data.Next;
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [500, 500, 200],
    );
    const all = pages.flat();
    assert.deepEqual(
      all.map((m) => m.Session),
      sessions,
    );
    for (const m of all) {
      assert.deepEqual(Object.keys(m), ['Session', 'ReadMsgId', 'Online']);
      assert.equal(m.Online, m.Session === 'm-0501', m.Session);
      assert.equal(m.ReadMsgId, m.Session === 'm-0007' ? last : null, m.Session);
    }
    // Exactly 500 left after `after`: a full page, then an empty one.
    const full = expectOk(
      await server.post('/get_conversation_members', { conversation_id: c, after: 'm-0699' }, t),
    );
    assert.equal(full.Members.length, 500);
    assert.equal(full.Next, 'm-1199');
    const empty = expectOk(
      await server.post('/get_conversation_members', { conversation_id: c, after: full.Next }, t),
    );
    assert.deepEqual(empty, { ConversationID: c, Members: [], Next: null });
  });

  it('leaves departed members out of pages, and refuses non-members and bad input', async () => {
    const c = await server.createConversation(['p-a', 'p-b', 'p-c']);
    expectOk(await server.post('/leave_conversation', { conversation_id: c }, await token('p-b')));
    const data = expectOk(
      await server.post('/get_conversation_members', { conversation_id: c }, await token('p-a')),
    );
    assert.deepEqual(
      data.Members.map((m: { Session: string }) => m.Session),
      ['p-a', 'p-c'],
    );
    expectFailure(
      await server.post('/get_conversation_members', { conversation_id: c }, await token('p-b')),
      10004,
    );
    expectFailure(
      await server.post(
        '/get_conversation_members',
        { conversation_id: 'no-such' },
        await token('p-a'),
      ),
      10005,
    );
    expectFailure(await server.post('/inner/get_members', { conversation_id: 'no-such' }), 10005);
    const bad: unknown[] = [
      {},
      { conversation_id: c, after: '' },
      { conversation_id: c, after: 5 },
      { conversation_id: c, after: 'x'.repeat(129) },
      { conversation_id: c, after: 'é'.repeat(65) },
      { conversation_id: 7 },
    ];
    for (const body of bad) {
      expectFailure(
        await server.post('/get_conversation_members', body, await token('p-a')),
        10001,
      );
      expectFailure(await server.post('/inner/get_members', body), 10001);
    }
  });
});
