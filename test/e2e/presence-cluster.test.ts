import assert from 'node:assert/strict';
import { it } from 'node:test';
import { nodeAt, pushUrl, tokenFrom } from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import type { ApiNode } from '../helpers/child-nodes.js';
import { WsClient } from '../helpers/push-clients.js';
import { waitFor } from '../helpers/wait.js';

// EXTENSIONS.md: presence "reflects a connect or disconnect on any node within 2 s, and the
// connections of a node that died within 30 s".

async function platformsOn(node: ApiNode, session: string): Promise<number[]> {
  const res = await node.post('/inner/get_presence', { sessions: [session] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.Presence[0].Platforms as number[];
}

/** Waits (checking the node's answer) until `session`'s platforms there are `expected`. */
function until(node: ApiNode, session: string, expected: number[], ms: number, what: string) {
  return waitFor(
    async () => (await platformsOn(node, session)).join() === expected.join(),
    ms,
    what,
    50,
  );
}

describeCluster('cluster: presence across nodes', { nodes: 2 }, (cluster) => {
  it('shows a connect and a disconnect on node 2 on node 1 within 2 s', async () => {
    const [n1, n2] = [nodeAt(cluster(), 0), nodeAt(cluster(), 1)];
    const ws = await WsClient.open(pushUrl(n2, 'ws', await tokenFrom(n2, 'alice', 3)));
    try {
      await until(n1, 'alice', [3], 2000, 'alice online on node 1');
      const own = await tokenFrom(n1, 'alice', 1);
      const local = await WsClient.open(pushUrl(n1, 'ws', own));
      assert.deepEqual(await platformsOn(n1, 'alice'), [1, 3], 'local and remote together');
      await local.close();
      await ws.close();
      await until(n1, 'alice', [], 2000, 'alice offline on node 1');
      await until(n2, 'alice', [], 2000, 'alice offline on node 2');
    } finally {
      await ws.close();
    }
  });

  it('lets a new node learn who is connected, and drops a killed node within 30 s', async () => {
    const n1 = nodeAt(cluster(), 0);
    const early = await WsClient.open(pushUrl(n1, 'ws', await tokenFrom(n1, 'early', 2)));
    const child = await cluster().spawnNode();
    try {
      await until(child, 'early', [2], 2000, 'the new node to learn of early');
      const doomed = await WsClient.open(pushUrl(child, 'ws', await tokenFrom(child, 'doomed', 5)));
      await until(n1, 'doomed', [5], 2000, 'doomed online on node 1');
      await child.kill('SIGKILL');
      const killedAt = Date.now();
      await until(n1, 'doomed', [], 30_000, 'the killed node’s session to go offline');
      assert.ok(Date.now() - killedAt < 30_000);
      await doomed.close();
    } finally {
      await early.close();
    }
  });
});
