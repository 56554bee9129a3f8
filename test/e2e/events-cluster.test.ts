import assert from 'node:assert/strict';
import { it } from 'node:test';
import { nodeAt, pushUrl, tokenFrom } from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import { WsClient } from '../helpers/push-clients.js';

// EXTENSIONS.md "Events on the push stream (opt-in)" on two nodes: a read, join or leave
// answered by node 1 reaches an events=1 connection on node 2.

const WAIT_MS = 5000;

describeCluster('cluster: push events across nodes', { nodes: 2 }, (cluster) => {
  it('delivers read, joined and left events made on node 1 to events=1 connections on node 2', async () => {
    const [n1, n2] = [nodeAt(cluster(), 0), nodeAt(cluster(), 1)];
    const alice = await tokenFrom(n1, 'alice');
    const created = await n1.post('/inner/create_conversation', {
      conversation_type: 1,
      sessions: ['alice', 'bob'],
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const c = created.body.data.ConversationId as string;
    const url = new URL(pushUrl(n2, 'ws', await tokenFrom(n2, 'bob')));
    url.searchParams.set('events', '1');
    const bob = await WsClient.open(url.toString());
    const plainBob = await WsClient.open(pushUrl(n2, 'ws', await tokenFrom(n2, 'bob', 2)));
    try {
      const sent = await n1.post(
        '/send_msg',
        { conversation_id: c, status: 0, type: 1, content: 'hi' },
        alice,
      );
      const id = sent.body.data.MsgID as string;
      await bob.waitForIds([id]);
      const bobToken = await tokenFrom(n1, 'bob');
      const read = await n1.post('/mark_read', { conversation_id: c, msg_id: id }, bobToken);
      assert.equal(read.status, 200, JSON.stringify(read.body));
      await bob.until(() => bob.events.length >= 1, WAIT_MS, 'the read event on node 2');
      assert.deepEqual(bob.events[0], {
        Event: 'read',
        ConversationID: c,
        Session: 'bob',
        ReadMsgId: id,
      });
      const join = await n1.post('/inner/join_conversation', {
        conversation_id: c,
        sessions: ['carol'],
      });
      assert.equal(join.status, 200);
      await bob.until(() => bob.events.length >= 2, WAIT_MS, 'the joined event on node 2');
      assert.deepEqual(bob.events[1], {
        Event: 'joined',
        ConversationID: c,
        Sessions: ['carol'],
      });
      const kick = await n1.post('/inner/kickout_conversation', {
        conversation_id: c,
        sessions: ['carol'],
      });
      assert.equal(kick.status, 200);
      await bob.until(() => bob.events.length >= 3, WAIT_MS, 'the left event on node 2');
      assert.deepEqual(bob.events[2], {
        Event: 'left',
        ConversationID: c,
        Sessions: ['carol'],
        Kicked: true,
      });
      // The plain connection of the same member saw the message and no event.
      await plainBob.waitForIds([id]);
      assert.deepEqual(plainBob.events, []);
    } finally {
      bob.close();
      plainBob.close();
    }
  });
});
