import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_NODE_ID, formatMsgId, parseMsgId } from '../../src/domain/msg-id.js';
import { HIGHEST_MSG_ID, LOWEST_MSG_ID, MSG_ID, expectFailure, expectOk } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const MSG_DATA_KEYS = [
  'Content',
  'ConversationID',
  'FromSession',
  'MsgId',
  'SendTime',
  'Status',
  'Type',
];

interface MsgData {
  MsgId: string;
  ConversationID: string;
  FromSession: string;
  SendTime: number;
  Status: number;
  Type: number;
  Content: string;
}

/** An id strictly between two neighbouring ids of one node, which no message holds. */
function idBetween(lower: string, upper: string): string {
  const low = parseMsgId(lower);
  const between =
    low.node < MAX_NODE_ID
      ? formatMsgId({ ...low, node: low.node + 1 })
      : formatMsgId({ ...parseMsgId(upper), node: parseMsgId(upper).node - 1 });
  assert.ok(lower < between && between < upper, `${lower} < ${between} < ${upper}`);
  return between;
}

describe('messages over HTTP', () => {
  let server: TestServer;
  let alice: string;
  let bob: string;

  async function send(conversationId: string, content: string, token = alice): Promise<string> {
    const data = expectOk(
      await server.post(
        '/send_msg',
        { conversation_id: conversationId, status: 0, type: 0, content },
        token,
      ),
    );
    assert.deepEqual(Object.keys(data), ['MsgID']);
    assert.match(data.MsgID, MSG_ID);
    return data.MsgID;
  }

  async function read(path: string, body: Record<string, unknown>): Promise<MsgData[]> {
    const data = expectOk(await server.post(path, body, alice));
    assert.deepEqual(Object.keys(data), ['Msg']);
    for (const m of data.Msg) assert.deepEqual(Object.keys(m).sort(), MSG_DATA_KEYS);
    return data.Msg;
  }

  before(async () => {
    server = await startServer();
    alice = await server.token('alice');
    bob = await server.token('bob', 7);
  });

  after(() => server.close(true));

  it('answers a MsgID that rises strictly, as a string, in send order', async () => {
    const id = await server.createConversation(['alice']);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await send(id, `m${i}`));
    for (let i = 1; i < ids.length; i++) {
      assert.ok((ids[i - 1] as string) < (ids[i] as string), `${ids[i - 1]} < ${ids[i]}`);
    }
    const history = await read('/get_conversation_msg_by_range', {
      conversation_id: id,
      start_msg_id: LOWEST_MSG_ID,
      end_msg_id: HIGHEST_MSG_ID,
    });
    assert.deepEqual(
      history.map((m) => [m.MsgId, m.Content]),
      ids.map((msgId, i) => [msgId, `m${i}`]),
    );
  });

  it('stores MsgData with exactly the contract keys and the sent values', async () => {
    const id = await server.createConversation(['alice', 'bob']);
    // No NUL or lone surrogate: those are refused (test/e2e/text-inputs.test.ts).
    const content = 'héllo 😀 \u0001 "quoted" \\ \n\t مرحبا';
    const before = Date.now() * 1000;
    const data = expectOk(
      await server.post(
        '/send_msg',
        {
          conversation_id: id,
          status: 2147483647,
          type: -2147483648,
          content,
          FromSession: 'mallory',
          from_session: 'mallory',
          SendTime: 1,
        },
        bob,
      ),
    );
    const afterMicros = Date.now() * 1000;
    const [message] = await read('/get_conversation_lastone_msg', { conversation_id: id });
    assert.ok(message);
    assert.equal(message.MsgId, data.MsgID);
    assert.ok(Number.isSafeInteger(message.SendTime));
    // Microseconds from the server clock: within a second of this process's wall clock.
    assert.ok(message.SendTime >= before - 1_000_000, `${message.SendTime} vs ${before}`);
    assert.ok(message.SendTime <= afterMicros + 1_000_000, `${message.SendTime} vs ${afterMicros}`);
    assert.deepEqual(message, {
      MsgId: data.MsgID,
      ConversationID: id,
      FromSession: 'bob',
      SendTime: message.SendTime,
      Status: 2147483647,
      Type: -2147483648,
      Content: content,
    });

    const detail = expectOk(
      await server.post('/get_conversation_detail', { conversation_id: id }, alice),
    );
    assert.deepEqual(detail, {
      ConversationID: id,
      LastMsgID: data.MsgID,
      LastSendTime: message.SendTime,
      IsDelete: false,
      ConversationType: 0,
      LastSendSession: 'bob',
      IsArchive: false,
    });
    const last = expectOk(await server.post('/get_lastone_msgid', { conversation_id: id }, alice));
    assert.deepEqual(last, { MsgId: data.MsgID });
  });

  it('answers empty pages for a conversation without messages', async () => {
    const id = await server.createConversation(['alice']);
    const c = { conversation_id: id };
    assert.deepEqual(expectOk(await server.post('/get_lastone_msgid', c, alice)), { MsgId: null });
    assert.deepEqual(await read('/get_conversation_lastone_msg', c), []);
    assert.deepEqual(await read('/get_conversation_last_30_msg', { ...c, desc: true }), []);
    assert.deepEqual(
      await read('/get_conversation_30msg_before_the_id', { ...c, msg_id: HIGHEST_MSG_ID }),
      [],
    );
    assert.deepEqual(
      await read('/get_conversation_30msg_after_the_id', { ...c, msg_id: LOWEST_MSG_ID }),
      [],
    );
    assert.deepEqual(
      await read('/get_conversation_msg_by_range', {
        ...c,
        start_msg_id: LOWEST_MSG_ID,
        end_msg_id: HIGHEST_MSG_ID,
      }),
      [],
    );
  });

  describe('history of 1,005 messages', () => {
    const TOTAL = 1005;
    let conversationId: string;
    /** Every id in the conversation, ascending. */
    let ids: string[];

    const idsOf = (messages: MsgData[]): string[] => messages.map((m) => m.MsgId);
    const slice = (from: number, to: number): string[] => ids.slice(from, to);
    const desc = (list: string[]): string[] => [...list].reverse();

    // Seeded through the server's own Store and its allocator (1,000 HTTP sends would
    // take seconds); the last five go over HTTP, after the seeded ones.
    before(async () => {
      conversationId = await server.createConversation(['alice']);
      ids = [];
      for (let i = 0; i < TOTAL - 5; i++) {
        const result = await server.app.store.appendMessage({
          conversationId,
          fromSession: 'alice',
          status: 0,
          type: 0,
          content: `message ${i}`,
          sendTime: Date.now() * 1000,
        });
        assert.equal(result.kind, 'appended');
        if (result.kind === 'appended') ids.push(result.message.MsgId);
      }
      for (let i = TOTAL - 5; i < TOTAL; i++) ids.push(await send(conversationId, `message ${i}`));
      assert.equal(new Set(ids).size, TOTAL);
      assert.deepEqual([...ids].sort(), ids);
    });

    const c = () => ({ conversation_id: conversationId });

    it('reads the newest 30, ascending unless desc, with a missing desc meaning false', async () => {
      const newest = slice(TOTAL - 30, TOTAL);
      assert.deepEqual(idsOf(await read('/get_conversation_last_30_msg', c())), newest);
      assert.deepEqual(
        idsOf(await read('/get_conversation_last_30_msg', { ...c(), desc: false })),
        newest,
      );
      assert.deepEqual(
        idsOf(await read('/get_conversation_last_30_msg', { ...c(), desc: true })),
        desc(newest),
      );
    });

    it('reads the newest message as a list of one, and its id', async () => {
      const last = ids[TOTAL - 1];
      for (const d of [undefined, false, true]) {
        const page = await read('/get_conversation_lastone_msg', { ...c(), desc: d });
        assert.deepEqual(idsOf(page), [last]);
      }
      assert.deepEqual(expectOk(await server.post('/get_lastone_msgid', c(), alice)), {
        MsgId: last,
      });
    });

    it('reads the 30 nearest strictly before an id, existing or not', async () => {
      const before = '/get_conversation_30msg_before_the_id';
      assert.deepEqual(idsOf(await read(before, { ...c(), msg_id: ids[100] })), slice(70, 100));
      assert.deepEqual(
        idsOf(await read(before, { ...c(), msg_id: ids[100], desc: true })),
        desc(slice(70, 100)),
      );
      assert.deepEqual(idsOf(await read(before, { ...c(), msg_id: ids[10] })), slice(0, 10));
      assert.deepEqual(idsOf(await read(before, { ...c(), msg_id: ids[0] })), []);
      const gap = idBetween(ids[100] as string, ids[101] as string);
      assert.deepEqual(idsOf(await read(before, { ...c(), msg_id: gap })), slice(71, 101));
      assert.deepEqual(
        idsOf(await read(before, { ...c(), msg_id: HIGHEST_MSG_ID })),
        slice(TOTAL - 30, TOTAL),
      );
    });

    it('reads the 30 nearest strictly after an id, existing or not', async () => {
      const afterId = '/get_conversation_30msg_after_the_id';
      assert.deepEqual(idsOf(await read(afterId, { ...c(), msg_id: ids[100] })), slice(101, 131));
      assert.deepEqual(
        idsOf(await read(afterId, { ...c(), msg_id: ids[100], desc: true })),
        desc(slice(101, 131)),
      );
      assert.deepEqual(
        idsOf(await read(afterId, { ...c(), msg_id: ids[TOTAL - 5] })),
        slice(TOTAL - 4, TOTAL),
      );
      assert.deepEqual(idsOf(await read(afterId, { ...c(), msg_id: ids[TOTAL - 1] })), []);
      const gap = idBetween(ids[100] as string, ids[101] as string);
      assert.deepEqual(idsOf(await read(afterId, { ...c(), msg_id: gap })), slice(101, 131));
      assert.deepEqual(idsOf(await read(afterId, { ...c(), msg_id: LOWEST_MSG_ID })), slice(0, 30));
    });

    it('reads a range inclusive at both ends, at most 1,000 nearest the start or end', async () => {
      const range = (start: string | undefined, end: string | undefined, d?: boolean) =>
        read('/get_conversation_msg_by_range', {
          ...c(),
          start_msg_id: start,
          end_msg_id: end,
          desc: d,
        }).then(idsOf);
      assert.deepEqual(await range(ids[10], ids[20]), slice(10, 21));
      assert.deepEqual(await range(ids[10], ids[20], true), desc(slice(10, 21)));
      assert.deepEqual(await range(ids[42], ids[42]), [ids[42]]);
      assert.deepEqual(await range(ids[20], ids[10]), []);
      const afterTen = idBetween(ids[10] as string, ids[11] as string);
      const afterTwenty = idBetween(ids[20] as string, ids[21] as string);
      assert.deepEqual(await range(afterTen, afterTwenty), slice(11, 21));
      // More than 1,000 in range: the 1,000 nearest start ascending, nearest end descending.
      assert.deepEqual(await range(ids[0], ids[TOTAL - 1]), slice(0, 1000));
      assert.deepEqual(await range(LOWEST_MSG_ID, HIGHEST_MSG_ID, false), slice(0, 1000));
      assert.deepEqual(
        await range(LOWEST_MSG_ID, HIGHEST_MSG_ID, true),
        desc(slice(TOTAL - 1000, TOTAL)),
      );
    });

    it('serves full MsgData in every page', async () => {
      const [message] = await read('/get_conversation_msg_by_range', {
        ...c(),
        start_msg_id: ids[0],
        end_msg_id: ids[0],
      });
      assert.ok(message);
      assert.equal(message.ConversationID, conversationId);
      assert.equal(message.FromSession, 'alice');
      assert.match(message.Content, /^message \d+$/);
    });
  });

  describe('content size', () => {
    async function sendContent(target: TestServer, content: string) {
      const token = await target.token('alice');
      const id = await target.createConversation(['alice']);
      const res = await target.post(
        '/send_msg',
        { conversation_id: id, status: 0, type: 0, content },
        token,
      );
      return { res, id, token };
    }

    it('accepts exactly 65,536 bytes and refuses 65,537 with 10007', async () => {
      const exact = 'a'.repeat(65_536);
      const { res, id, token } = await sendContent(server, exact);
      expectOk(res);
      const last = expectOk(
        await server.post('/get_conversation_lastone_msg', { conversation_id: id }, token),
      );
      assert.equal(last.Msg[0].Content, exact);
      expectFailure((await sendContent(server, 'a'.repeat(65_537))).res, 10007);
    });

    it('accepts empty content (the contract bounds content only from above)', async () => {
      const { res, id, token } = await sendContent(server, '');
      expectOk(res);
      const last = expectOk(
        await server.post('/get_conversation_lastone_msg', { conversation_id: id }, token),
      );
      assert.equal(last.Msg[0].Content, '');
    });

    it('counts content in UTF-8 bytes, not characters', async () => {
      // '€' is 3 bytes, '😀' is 4 (two UTF-16 units).
      expectOk((await sendContent(server, '€'.repeat(21_845) + 'a')).res);
      expectFailure((await sendContent(server, '€'.repeat(21_845) + 'ab')).res, 10007);
      expectFailure((await sendContent(server, '€'.repeat(21_846))).res, 10007);
      expectOk((await sendContent(server, '😀'.repeat(16_384))).res);
      expectFailure((await sendContent(server, '😀'.repeat(16_384) + 'a')).res, 10007);
    });

    it('obeys a smaller maxContentBytes', async () => {
      const small = await startServer({ maxContentBytes: 10 });
      try {
        expectOk((await sendContent(small, 'a'.repeat(10))).res);
        expectOk((await sendContent(small, 'é'.repeat(5))).res);
        expectFailure((await sendContent(small, 'a'.repeat(11))).res, 10007);
        expectFailure((await sendContent(small, 'é'.repeat(6))).res, 10007);
      } finally {
        await small.close(true);
      }
    });
  });
});
