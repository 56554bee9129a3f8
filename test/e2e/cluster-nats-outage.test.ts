import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { afterEach, before, it } from 'node:test';
import { fetchJson, spawnScript } from '../helpers/child-nodes.js';
import { metricValue, nodeAt, readHistory, scrape, sendVia } from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import { expectFailure } from '../helpers/http.js';
import { waitUntil } from '../helpers/processes.js';
import {
  PollClient,
  SseClient,
  WsClient,
  closeAll,
  notifyUrl,
  poll,
  wsRefusal,
} from '../helpers/push-clients.js';
import type { PushClient } from '../helpers/push-clients.js';
import { tempDataDir } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const WAIT_MS = 10_000;

/** An app embedded in a process of its own: closes it once the bus stops answering. */
const EMBEDDER = `
import { buildApp } from './src/app.ts';
import { defaultSettings } from './src/config/settings.ts';
const [store, bus, dataDir] = process.argv.slice(1);
const app = await buildApp(defaultSettings({
  store: { kind: 'postgres', url: store }, bus: { kind: 'nats', url: bus }, dataDir, logLevel: 'silent',
}));
console.log('ready');
const probe = setInterval(() => app.bus.ping().catch(() => {
  clearInterval(probe);
  void app.close().then(() => console.log('closed'));
}), 50);
`;

async function healthStatus(node: TestServer): Promise<number> {
  return (await fetchJson(`${node.url}/healthz`)).status;
}

function ids(client: PushClient): string[] {
  return client.messages.map((m) => m.MsgId);
}

describeCluster('cluster: NATS restarted mid-test', { nodes: 3 }, (cluster) => {
  let nodes: TestServer[];
  const open = new Set<PushClient>();
  let natsDown = false;

  async function stopNats(): Promise<void> {
    natsDown = true;
    await cluster().nats.stop();
  }

  async function startNats(): Promise<void> {
    await cluster().nats.start();
    natsDown = false;
  }

  before(async () => {
    nodes = [0, 1, 2].map((i) => nodeAt(cluster(), i));
  });

  afterEach(async () => {
    await closeAll(open);
    open.clear();
    // A failed test must not leave the next one without NATS.
    if (natsDown) await startNats();
  });

  it('keeps storing sends while NATS is down, closes and refuses push until it is back, then resumed clients get every message sent meanwhile and live delivery works again', async () => {
    const [n1, n2, n3] = nodes as [TestServer, TestServer, TestServer];
    const conversationId = await n1.createConversation(['sender', 'wes', 'sue', 'pat']);
    const senderToken = await n1.token('sender');
    const tokens = {
      wes: await n1.token('wes'),
      sue: await n1.token('sue'),
      pat: await n1.token('pat'),
    };
    const ws = await WsClient.open(notifyUrl(n2, 'ws', { token: tokens.wes }));
    const sse = await SseClient.open(notifyUrl(n3, 'sse', { token: tokens.sue }));
    const pollClient = await PollClient.open(n1, tokens.pat);
    for (const c of [ws, sse, pollClient]) open.add(c);
    const seen = await sendVia(n1, senderToken, conversationId, 'before the outage');
    for (const c of [ws, sse, pollClient]) {
      await c.waitForIds([seen], WAIT_MS, `${c.protocol} before the outage`);
    }
    const reconnects = await Promise.all(
      nodes.map(async (n) => metricValue(await scrape(n), 'quickim_bus_reconnects_total')),
    );

    await stopNats();

    // Every node closes its push connections rather than let them miss messages silently.
    assert.equal(await ws.closed(WAIT_MS), 1012, 'WebSocket close code while NATS is down');
    await sse.closed(WAIT_MS);
    assert.equal(sse.events.at(-1)?.event, 'unavailable', JSON.stringify(sse.events.at(-1)));
    await pollClient.waitForStop(WAIT_MS, 'the outstanding poll to be answered');
    const [pollAnswer] = pollClient.failures;
    assert.equal(pollAnswer?.status, 503, JSON.stringify(pollClient.failures));
    assert.equal(pollAnswer.body.code, 10002);
    for (const [i, n] of nodes.entries()) {
      await waitUntil(async () => (await healthStatus(n)) === 503, WAIT_MS, `node ${i + 1} 503`);
      // Not ready, but alive: a liveness probe must not restart a node for a NATS outage.
      const ready = await fetchJson(`${n.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: 'unavailable', failing: ['bus'] });
      assert.equal((await fetchJson(`${n.url}/livez`)).status, 200);
      assert.equal(metricValue(await scrape(n), 'quickim_bus_connected'), 0);
    }

    // Sends are stored and acknowledged on every node; history reads work.
    const during: string[] = [];
    for (let i = 0; i < 6; i++) {
      during.push(
        await sendVia(nodes[i % 3] as TestServer, senderToken, conversationId, `outage ${i}`),
      );
    }
    const stored = await readHistory(n2, senderToken, conversationId);
    assert.deepEqual(
      stored.map((m) => m.MsgId),
      [seen, ...during],
    );
    // New push connections are refused on every node, in every protocol's form.
    for (const n of nodes) {
      const refusal = await wsRefusal(notifyUrl(n, 'ws', { token: tokens.wes }));
      assert.equal(refusal.status, 503, JSON.stringify(refusal.body));
      assert.equal(refusal.body.code, 10002);
      expectFailure(await fetchJson(notifyUrl(n, 'sse', { token: tokens.sue })), 10002, 503);
      const answer = await poll(n, { token: tokens.pat, timeout: 0 });
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.equal(answer.body.code, 10002);
    }
    // A membership change is stored, but answers 503 since other nodes cannot be told.
    expectFailure(
      await n3.post('/inner/join_conversation', {
        conversation_id: conversationId,
        sessions: ['late'],
      }),
      10002,
      503,
    );

    await startNats();
    for (const [i, n] of nodes.entries()) {
      await waitUntil(async () => (await healthStatus(n)) === 200, 20_000, `node ${i + 1} 200`);
      assert.equal((await fetchJson(`${n.url}/readyz`)).status, 200);
      assert.equal(metricValue(await scrape(n), 'quickim_bus_connected'), 1);
    }

    // Clients resume on other nodes than the ones they left, with the last id they saw.
    const resumed: PushClient[] = [
      await WsClient.open(notifyUrl(n3, 'ws', { token: tokens.wes, last_msg_id: seen })),
      await SseClient.open(notifyUrl(n1, 'sse', { token: tokens.sue }), {
        'last-event-id': seen,
      }),
      await PollClient.open(n2, tokens.pat, { last_msg_id: seen }),
    ];
    for (const c of resumed) open.add(c);
    const late = await n3.token('late');
    const lateWs = await WsClient.open(notifyUrl(n1, 'ws', { token: late }));
    open.add(lateWs);
    const live = await sendVia(n2, senderToken, conversationId, 'after the outage');
    for (const c of resumed) {
      await c.waitForIds([live], WAIT_MS, `${c.protocol} after the outage`);
      assert.deepEqual(ids(c), [...during, live], `${c.protocol}: nothing lost, nothing twice`);
    }
    await lateWs.waitForIds([live], WAIT_MS, 'the join stored during the outage');

    const after = await Promise.all(
      nodes.map(async (n) => metricValue(await scrape(n), 'quickim_bus_reconnects_total')),
    );
    assert.deepEqual(
      after,
      reconnects.map((v) => (v ?? 0) + 1),
      'quickim_bus_reconnects_total counts the restart once on every node',
    );
  });

  it('does not let a poll place that NATS interrupted between two polls skip what was sent meanwhile', async () => {
    const [n1, n2] = nodes as [TestServer, TestServer, TestServer];
    const conversationId = await n1.createConversation(['sender', 'paula']);
    const senderToken = await n1.token('sender');
    const token = await n2.token('paula');
    assert.equal((await poll(n2, { token, timeout: 0 })).status, 204);
    await stopNats();
    await waitUntil(async () => (await healthStatus(n2)) === 503, WAIT_MS, 'node 2 503');
    const during = await sendVia(n1, senderToken, conversationId, 'while the place waited');
    await startNats();
    await waitUntil(async () => (await healthStatus(n2)) === 200, 20_000, 'node 2 200');
    const next = await poll(n2, { token, timeout: 2 });
    assert.ok(
      next.status === 503 || (next.status === 200 && next.body.MsgId === during),
      `the next poll answered ${next.status} ${JSON.stringify(next.body)}, skipping ${during}`,
    );
  });

  it('lets a process embedding a node exit by itself after closing the app while NATS is down', async () => {
    const dataDir = tempDataDir();
    const embedder = spawnScript(EMBEDDER, [cluster().storeUrl, cluster().nats.url, dataDir]);
    try {
      await waitUntil(
        () => embedder.lines.includes('ready') || embedder.exit() !== undefined,
        30_000,
        'the embedded app to start',
      );
      assert.ok(embedder.lines.includes('ready'), embedder.stderr());
      await stopNats();
      await waitUntil(() => embedder.lines.includes('closed'), WAIT_MS, 'app.close()');
      // A NATS connection left reconnecting would keep the process alive forever.
      await waitUntil(() => embedder.exit() !== undefined, WAIT_MS, 'the process to exit');
      assert.deepEqual(embedder.exit(), { code: 0, signal: null }, embedder.stderr());
    } finally {
      await embedder.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
