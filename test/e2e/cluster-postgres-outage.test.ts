import assert from 'node:assert/strict';
import { afterEach, before, it } from 'node:test';
import { fetchJson } from '../helpers/child-nodes.js';
import { freezePostgres, nodeAt, sendVia } from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import { expectFailure } from '../helpers/http.js';
import type { ApiResponse, TestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/processes.js';
import { WsClient, closeAll, notifyUrl, poll, wsRefusal } from '../helpers/push-clients.js';

const STORE_TIMEOUT_MS = 2000;
/** Longest any answer may take while PostgreSQL is down. */
const ANSWER_WITHIN_MS = 10_000;

/** While the store hangs: one store timeout per request, not one per statement. */
const HUNG_ANSWER_WITHIN_MS = STORE_TIMEOUT_MS + 1500;

/** Runs `request` and asserts it answered within `withinMs`. */
async function timed<T>(
  what: string,
  request: () => Promise<T>,
  withinMs = ANSWER_WITHIN_MS,
): Promise<T> {
  const started = Date.now();
  const result = await request();
  const took = Date.now() - started;
  assert.ok(took < withinMs, `${what} took ${took} ms (at most ${withinMs} ms)`);
  return result;
}

function unavailable(res: ApiResponse): void {
  expectFailure(res, 10002, 503);
}

describeCluster(
  'cluster: PostgreSQL stopped mid-test',
  { nodes: 3, settings: { storeTimeoutMs: STORE_TIMEOUT_MS } },
  (cluster) => {
    let nodes: TestServer[];
    const open: WsClient[] = [];
    let postgresDown = false;
    let thaw: (() => void) | undefined;

    before(async () => {
      nodes = [0, 1, 2].map((i) => nodeAt(cluster(), i));
    });

    afterEach(async () => {
      // A frozen PostgreSQL would ignore the stop at the end.
      thaw?.();
      thaw = undefined;
      await closeAll(open);
      open.length = 0;
      if (postgresDown) {
        await cluster().postgres.start();
        postgresDown = false;
      }
    });

    it('answers 503 with code 10002 within a bounded time while PostgreSQL is down, keeps open push connections, and recovers by itself when it is back', async () => {
      const [n1, n2, n3] = nodes as [TestServer, TestServer, TestServer];
      const conversationId = await n1.createConversation(['sender', 'rita']);
      const senderToken = await n1.token('sender');
      const ritaToken = await n2.token('rita');
      const rita = await WsClient.open(notifyUrl(n2, 'ws', { token: ritaToken }));
      open.push(rita);
      const before = await sendVia(n1, senderToken, conversationId, 'before the outage');
      await rita.until(() => rita.messages.length === 1, 5000, 'rita before the outage');

      postgresDown = true;
      await cluster().postgres.stop();

      for (const [i, node] of nodes.entries()) {
        const label = `node ${i + 1}`;
        const health = await timed(`${label} /healthz`, () => fetchJson(`${node.url}/healthz`));
        assert.equal(health.status, 503, `${label} /healthz: ${JSON.stringify(health.body)}`);
        const body = { conversation_id: conversationId, status: 0, type: 1, content: 'lost?' };
        unavailable(
          await timed(`${label} send_msg`, () => node.post('/send_msg', body, senderToken)),
        );
        unavailable(
          await timed(`${label} history`, () =>
            node.post(
              '/get_conversation_last_30_msg',
              { conversation_id: conversationId },
              senderToken,
            ),
          ),
        );
        unavailable(
          await timed(`${label} create`, () =>
            node.post('/inner/create_conversation', { conversation_type: 0, sessions: ['x'] }),
          ),
        );
        // New push connections and resumes need the store: refused, not left hanging.
        const refusal = await timed(`${label} ws`, () =>
          wsRefusal(notifyUrl(node, 'ws', { token: senderToken })),
        );
        assert.equal(refusal.status, 503, JSON.stringify(refusal.body));
        assert.equal(refusal.body.code, 10002);
        const answer = await timed(`${label} poll`, () =>
          poll(node, { token: senderToken, timeout: 0, last_msg_id: before }),
        );
        assert.equal(answer.status, 503, JSON.stringify(answer.body));
        assert.equal(answer.body.code, 10002);
        // Tokens need no store.
        const token = await node.post('/inner/get_token', { session: 'sender', platform: 9 });
        assert.equal(token.status, 200, JSON.stringify(token.body));
      }
      assert.equal(rita.isClosed, false, 'an open push connection outlives the store outage');

      await cluster().postgres.start();
      postgresDown = false;
      for (const [i, node] of nodes.entries()) {
        await waitUntil(
          async () => (await fetchJson(`${node.url}/healthz`)).status === 200,
          30_000,
          `node ${i + 1} /healthz to answer 200 again`,
        );
      }
      const after: string[] = [];
      for (const node of [n3, n2, n1]) {
        after.push(await sendVia(node, senderToken, conversationId, 'after the outage'));
      }
      await rita.until(() => rita.messages.length === 4, 5000, 'rita after the outage');
      assert.deepEqual(
        rita.messages.map((m) => m.MsgId),
        [before, ...after],
        'the connection kept across the outage receives what is sent after it',
      );
      const resumed = await WsClient.open(
        notifyUrl(n1, 'ws', { token: await n1.token('rita', 2), last_msg_id: before }),
      );
      open.push(resumed);
      await resumed.until(() => resumed.messages.length === 3, 5000, 'a resume after the outage');
      assert.deepEqual(
        resumed.messages.map((m) => m.MsgId),
        after,
      );
    });

    it('answers 503 with code 10002 within the store timeout while PostgreSQL hangs, and recovers by itself when it answers again', async () => {
      const [n1, n2] = nodes as [TestServer, TestServer, TestServer];
      const conversationId = await n1.createConversation(['sender']);
      const senderToken = await n1.token('sender');
      await sendVia(n2, senderToken, conversationId, 'before the freeze');

      thaw = await freezePostgres(cluster().storeUrl);
      const body = { conversation_id: conversationId, status: 0, type: 1, content: 'hung?' };
      const detail = { conversation_id: conversationId };
      const within = HUNG_ANSWER_WITHIN_MS;
      // All at once: each waits for the store timeout, not for the others.
      await Promise.all(
        nodes.flatMap((node, i) => [
          timed(
            `node ${i + 1} send_msg`,
            () => node.post('/send_msg', body, senderToken),
            within,
          ).then(unavailable),
          timed(
            `node ${i + 1} detail`,
            () => node.post('/get_conversation_detail', detail, senderToken),
            within,
          ).then(unavailable),
          timed(`node ${i + 1} /healthz`, () => fetchJson(`${node.url}/healthz`), within).then(
            (res) => assert.equal(res.status, 503, JSON.stringify(res.body)),
          ),
          timed(
            `node ${i + 1} ws`,
            () => wsRefusal(notifyUrl(node, 'ws', { token: senderToken })),
            within,
          ).then((res) => {
            assert.equal(res.status, 503, JSON.stringify(res.body));
            assert.equal(res.body.code, 10002);
          }),
        ]),
      );

      thaw();
      thaw = undefined;
      for (const [i, node] of nodes.entries()) {
        await waitUntil(
          async () =>
            (await fetchJson(`${node.url}/healthz`)).status === 200 &&
            (await node.post('/send_msg', body, senderToken)).status === 200,
          30_000,
          `node ${i + 1} to store messages again`,
        );
      }
    });
  },
);
