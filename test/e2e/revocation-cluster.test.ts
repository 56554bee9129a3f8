import assert from 'node:assert/strict';
import { it } from 'node:test';
import { nodeAt, pushUrl, tokenFrom } from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import { WsClient } from '../helpers/push-clients.js';
import { waitFor } from '../helpers/wait.js';

// EXTENSIONS.md "Server-side operations": a revocation holds "within 1 s on every other node".

describeCluster('cluster: revocation across nodes', { nodes: 2 }, (cluster) => {
  it('revoked on node 1, refused on node 2 within 1 s and its connection there closed', async () => {
    const [n1, n2] = [nodeAt(cluster(), 0), nodeAt(cluster(), 1)];
    const token = await tokenFrom(n1, 'alice', 1);
    const joined = async (): Promise<number> =>
      (await n2.post('/get_joined_conversation', {}, token)).status;
    assert.equal(await joined(), 200, 'verified and cached on node 2 before');
    const ws = await WsClient.open(pushUrl(n2, 'ws', token));
    const res = await n1.post('/inner/revoke_session', { session: 'alice' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitFor(async () => (await joined()) === 401, 1000, 'node 2 to refuse', 20);
    assert.equal(await ws.closed(1000), 4011);
    const refused = await n2.post('/get_joined_conversation', {}, token);
    assert.equal(refused.body.code, 10101);
  });
});
