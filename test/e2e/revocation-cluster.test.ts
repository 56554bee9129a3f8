import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodeAt, pushUrl, startCluster, tokenFrom } from '../helpers/cluster.js';
import type { Cluster } from '../helpers/cluster.js';
import { natsUnavailable } from '../helpers/nats.js';
import { postgresUnavailable } from '../helpers/postgres.js';
import { skipReason } from '../helpers/processes.js';
import { WsClient } from '../helpers/push-clients.js';
import { waitFor } from '../helpers/wait.js';

// EXTENSIONS.md "Server-side operations": a revocation holds "within 1 s on every other node".

describe(
  'cluster: revocation across nodes',
  { skip: skipReason(postgresUnavailable() ?? natsUnavailable()) },
  () => {
    let cluster: Cluster;
    before(async () => {
      cluster = await startCluster({ nodes: 2 });
    });
    after(() => cluster.stop());

    it('revoked on node 1, refused on node 2 within 1 s and its connection there closed', async () => {
      const [n1, n2] = [nodeAt(cluster, 0), nodeAt(cluster, 1)];
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
  },
);
