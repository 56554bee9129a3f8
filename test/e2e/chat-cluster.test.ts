import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { nodeAt, readHistory, sendVia } from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import { HIGHEST_MSG_ID, expectOk } from '../helpers/http.js';
import type { TestServer } from '../helpers/server.js';

describeCluster('cluster: chat state across nodes (PostgreSQL + NATS)', { nodes: 2 }, (cluster) => {
  let n1: TestServer;
  let n2: TestServer;

  before(async () => {
    n1 = nodeAt(cluster(), 0);
    n2 = nodeAt(cluster(), 1);
  });

  it('stores one message for ten concurrent retries with one client_msg_id through two nodes', async () => {
    const c = await n1.createConversation(['alice', 'bob']);
    const token = await n1.token('alice');
    // Each node has stored a message of the conversation: both try their one-statement append.
    await sendVia(n1, token, c, 'warm 1');
    await sendVia(n2, token, c, 'warm 2');
    const body = {
      conversation_id: c,
      status: 0,
      type: 1,
      content: 'once',
      client_msg_id: 'c-1',
    };
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? n1 : n2).post('/send_msg', { ...body, content: `try ${i}` }, token),
      ),
    );
    const ids = new Set(answers.map((a) => expectOk(a).MsgID as string));
    assert.equal(ids.size, 1);
    const history = await readHistory(n2, token, c);
    assert.equal(history.length, 3);
    // Later retries through either node, and through /inner/send_msg, answer the same id.
    for (const node of [n1, n2]) {
      assert.equal(expectOk(await node.post('/send_msg', body, token)).MsgID, [...ids][0]);
      const inner = await node.post('/inner/send_msg', { ...body, from_session: 'alice' });
      assert.equal(expectOk(inner).MsgID, [...ids][0]);
    }
    assert.equal((await readHistory(n1, token, c)).length, 3);
  });

  it('reads cursors, unread counts and members written through the other node', async () => {
    const c = await n1.createConversation(['carol', 'dave']);
    const carol = await n1.token('carol');
    const dave = await n2.token('dave');
    const m1 = await sendVia(n1, carol, c, 'one');
    await sendVia(n2, carol, c, 'two');
    const list = expectOk(await n2.post('/get_conversation_list', {}, dave));
    assert.equal(
      list.Conversations.find((e: { ConversationID: string }) => e.ConversationID === c).Unread,
      2,
    );
    expectOk(await n1.post('/mark_read', { conversation_id: c, msg_id: m1 }, dave));
    const after = expectOk(await n2.post('/get_conversation_list', {}, dave));
    const entry = after.Conversations.find(
      (e: { ConversationID: string }) => e.ConversationID === c,
    );
    assert.equal(entry.ReadMsgId, m1);
    assert.equal(entry.Unread, 1);
    const members = expectOk(await n2.post('/inner/get_members', { conversation_id: c }));
    assert.deepEqual(
      members.Members.map((m: { Session: string; ReadMsgId: string | null }) => m.ReadMsgId),
      [entry.LastMsgID, m1],
    );
    const read = await n2.post('/mark_read', { conversation_id: c, msg_id: HIGHEST_MSG_ID }, dave);
    assert.equal(expectOk(read).ReadMsgId, entry.LastMsgID);
  });
});
