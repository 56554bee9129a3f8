import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import {
  assertStrictlyIncreasing,
  nodeAt,
  pushUrl,
  readHistory,
  sendVia,
  tokenFrom,
} from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import type { ApiNode, NodeProcess } from '../helpers/child-nodes.js';
import { WsClient, closeAll, notifyUrl } from '../helpers/push-clients.js';
import { Changes } from '../helpers/wait.js';

const NODES = 3;
const SENDERS_PER_NODE = 5;
const MESSAGES_PER_SENDER = 40;

describeCluster('cluster: message ids under concurrent sends', { nodes: NODES }, (cluster) => {
  const clients: WsClient[] = [];

  after(async () => {
    await closeAll(clients);
  });

  it('keeps ids unique and strictly increasing in one conversation when three nodes send at once, and pushes each to a client on every node once, in order', async () => {
    const nodes = cluster().nodes;
    const first = nodeAt(cluster(), 0);
    const senders = nodes.map((_, i) =>
      Array.from({ length: SENDERS_PER_NODE }, (_, j) => `writer-${i}-${j}`),
    );
    const readers = nodes.map((_, i) => `reader-${i}`);
    const conversationId = await first.createConversation([...senders.flat(), ...readers]);
    for (const [i, node] of nodes.entries()) {
      const token = await node.token(readers[i] as string);
      clients.push(await WsClient.open(notifyUrl(node, 'ws', { token })));
    }

    const acked: string[] = [];
    const bySender = new Map<string, string[]>();
    await Promise.all(
      nodes.flatMap((node, i) =>
        (senders[i] as string[]).map(async (session) => {
          const token = await node.token(session);
          const mine: string[] = [];
          bySender.set(session, mine);
          for (let k = 0; k < MESSAGES_PER_SENDER; k++) {
            const id = await sendVia(node, token, conversationId, `${session} ${k}`);
            mine.push(id);
            acked.push(id);
          }
        }),
      ),
    );
    const total = NODES * SENDERS_PER_NODE * MESSAGES_PER_SENDER;
    assert.equal(new Set(acked).size, total, 'every acknowledged MsgID is unique');

    const stored = await readHistory(first, await first.token('reader-0'), conversationId);
    const storedIds = stored.map((m) => m.MsgId);
    assertStrictlyIncreasing(storedIds, 'history');
    assert.equal(storedIds.length, total, 'history holds every message once');
    assert.deepEqual(storedIds, [...acked].sort(), 'history holds exactly the acknowledged ids');
    for (const [session, mine] of bySender) {
      assertStrictlyIncreasing(mine, `ids answered to ${session}, one send after another`);
      const contents = stored.filter((m) => m.FromSession === session).map((m) => m.Content);
      assert.deepEqual(
        contents,
        mine.map((_, k) => `${session} ${k}`),
        `${session}'s messages in the order sent`,
      );
    }

    for (const [i, client] of clients.entries()) {
      await client.until(
        () => client.messages.length >= total || client.isClosed,
        20_000,
        () => `reader on node ${i + 1} to receive ${total} (has ${client.messages.length})`,
      );
      assert.equal(client.isClosed, false, `reader on node ${i + 1} closed: ${client.closeCode}`);
      assert.deepEqual(
        client.messages.map((m) => m.MsgId),
        storedIds,
        `reader on node ${i + 1}: every message once, in MsgId order`,
      );
    }
  });

  it('loses no acknowledged message when node 2 (a child process) is killed with SIGKILL while senders on nodes 1 and 2 are busy', async () => {
    const [node1, node2] = (await Promise.all([cluster().spawnNode(), cluster().spawnNode()])) as [
      NodeProcess,
      NodeProcess,
    ];
    const sessions = ['k-0', 'k-1', 'k-2', 'k-3'];
    const create = await node1.post('/inner/create_conversation', {
      conversation_type: 0,
      sessions: [...sessions, 'k-reader'],
    });
    assert.equal(create.status, 200, JSON.stringify(create.body));
    const conversationId = create.body.data.ConversationId as string;
    // Live readers on node 1 and on an in-process node (two platforms of one session).
    const readers = await Promise.all(
      [node1, nodeAt(cluster(), 0)].map(async (node, platform) =>
        WsClient.open(pushUrl(node, 'ws', await tokenFrom(node1, 'k-reader', platform))),
      ),
    );
    clients.push(...readers);

    const acked = new Map<ApiNode, string[]>([
      [node1, []],
      [node2, []],
    ]);
    // Notified on each acknowledgement, so the waits below re-check the counts then.
    const progress = new Changes();
    let killed = false;
    let stopped = false;
    const failures: string[] = [];
    async function sender(node: NodeProcess, session: string): Promise<void> {
      const token = await tokenFrom(node, session);
      for (let k = 0; !stopped && k < 5_000; k++) {
        let res;
        try {
          res = await node.post(
            '/send_msg',
            { conversation_id: conversationId, status: 0, type: 1, content: `${session} ${k}` },
            token,
          );
        } catch (err) {
          // The killed node's connections break; nothing else may fail.
          if (node === node2 && killed) return;
          failures.push(`${node.url}: ${(err as Error).message}`);
          return;
        }
        if (res.status !== 200) {
          failures.push(`${node.url}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
          return;
        }
        acked.get(node)?.push(res.body.data.MsgID as string);
        progress.notify();
      }
    }
    const loops = [node1, node2].flatMap((node) => sessions.map((s) => sender(node, s)));
    const count = (node: NodeProcess) => acked.get(node)?.length ?? 0;
    try {
      await progress.until(
        () => count(node2) >= 60 && count(node1) >= 60,
        30_000,
        'both nodes to be busy',
      );
      killed = true;
      const exit = await node2.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL');
      const atKill = count(node1);
      await progress.until(() => count(node1) >= atKill + 40, 30_000, 'node 1 to keep accepting');
    } finally {
      stopped = true;
      await Promise.all(loops);
    }
    assert.deepEqual(failures, []);

    const all = [...(acked.get(node1) ?? []), ...(acked.get(node2) ?? [])];
    const stored = await readHistory(node1, await tokenFrom(node1, 'k-0'), conversationId);
    const storedIds = stored.map((m) => m.MsgId);
    assertStrictlyIncreasing(storedIds, 'history after the kill');
    const present = new Set(storedIds);
    const lost = all.filter((id) => !present.has(id));
    assert.deepEqual(lost, [], `acknowledged but missing from the history (of ${all.length})`);
    // Requests in flight at the kill may have been stored without an answer; nothing else.
    assert.ok(storedIds.length - all.length <= sessions.length, 'no unexpected extra messages');
    for (const [i, reader] of readers.entries()) {
      const label = i === 0 ? 'reader on node 1' : 'reader on an in-process node';
      await reader.until(
        () => reader.messages.length >= storedIds.length || reader.isClosed,
        10_000,
        () => `${label} to receive ${storedIds.length} (has ${reader.messages.length})`,
      );
      assert.deepEqual(
        reader.messages.map((m) => m.MsgId),
        storedIds,
        `${label}: every stored message once, in order, even the ones node 2 never published`,
      );
    }
  });
});
