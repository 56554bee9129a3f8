import assert from 'node:assert/strict';
import { afterEach, before, it } from 'node:test';
import { metricValue, nodeAt, scrape, sendVia } from '../helpers/cluster.js';
import { describeCluster } from '../helpers/describe-cluster.js';
import {
  PROTOCOLS,
  PollClient,
  SseClient,
  WsClient,
  closeAll,
  notifyUrl,
  openPush,
  poll,
} from '../helpers/push-clients.js';
import type { NotifyParams, Protocol, PushClient } from '../helpers/push-clients.js';
import type { TestServer } from '../helpers/server.js';

const WAIT_MS = 10_000;
const METRICS = [
  'quickim_connections',
  'quickim_messages_accepted_total',
  'quickim_messages_delivered_total',
  'quickim_messages_replayed_total',
  'quickim_slow_consumers_total',
  'quickim_replacements_total',
  'quickim_store_seconds',
  'quickim_bus_call_seconds',
  'quickim_bus_reconnects_total',
];

function ids(client: PushClient): string[] {
  return client.messages.map((m) => m.MsgId);
}

describeCluster('cluster: delivery across nodes', { nodes: 3 }, (cluster) => {
  let n1: TestServer;
  let n2: TestServer;
  let n3: TestServer;
  let senderToken: string;
  const open = new Set<PushClient>();

  before(async () => {
    n1 = nodeAt(cluster(), 0);
    n2 = nodeAt(cluster(), 1);
    n3 = nodeAt(cluster(), 2);
    senderToken = await n1.token('sender');
  });

  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });

  async function connect(
    node: TestServer,
    protocol: Protocol,
    session: string,
    platform = 1,
    params: NotifyParams = {},
  ): Promise<PushClient> {
    const client = await openPush(node, protocol, await node.token(session, platform), params);
    open.add(client);
    return client;
  }

  async function ws(node: TestServer, session: string, platform = 1): Promise<WsClient> {
    return (await connect(node, 'ws', session, platform)) as WsClient;
  }

  async function waitForIds(client: PushClient, wanted: readonly string[], what: string) {
    await client.until(
      () => wanted.every((id) => client.messages.some((m) => m.MsgId === id)),
      WAIT_MS,
      () => `${what}: ${client.protocol} has ${JSON.stringify(ids(client))}`,
    );
  }

  it('delivers messages sent on node 1 to ws, sse and poll clients on nodes 2 and 3, once each and in order', async () => {
    const receivers = [n2, n3].flatMap((node, i) =>
      PROTOCOLS.map((protocol) => ({ node, protocol, session: `fan-${i + 2}-${protocol}` })),
    );
    const conversationId = await n1.createConversation([
      'sender',
      ...receivers.map((r) => r.session),
    ]);
    const clients = await Promise.all(receivers.map((r) => connect(r.node, r.protocol, r.session)));

    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(await sendVia(n1, senderToken, conversationId, `fan-out ${i}`));
    }
    for (const [i, client] of clients.entries()) {
      const label = `${client.protocol} on node ${i < 3 ? 2 : 3}`;
      await waitForIds(client, sent, label);
      assert.deepEqual(ids(client), sent, `${label}: each message once, in MsgId order`);
      assert.deepEqual(
        client.messages.map((m) => m.Content),
        sent.map((_, k) => `fan-out ${k}`),
        label,
      );
      assert.ok(client.messages.every((m) => m.FromSession === 'sender'));
    }
  });

  it('closes a WebSocket on node 1 with 4001 when the same session and platform log in on node 3', async () => {
    const conversationId = await n1.createConversation(['sender', 'carol']);
    const old = await ws(n1, 'carol', 2);
    const fresh = await ws(n3, 'carol', 2);
    assert.equal(await old.closed(WAIT_MS), 4001, 'old WebSocket close code');

    const id = await sendVia(n1, senderToken, conversationId, 'after the login');
    await waitForIds(fresh, [id], 'the new connection on node 3');
    assert.deepEqual(ids(old), [], 'the replaced connection got nothing');
    assert.equal(fresh.isClosed, false, 'the new connection stays open');
    assert.equal(n1.app.hub.find('carol', 2), undefined, 'node 1 forgot the old connection');
  });

  it('ends an SSE stream on node 1 with event kickout (10009) when a WebSocket of the same session and platform opens on node 3', async () => {
    const conversationId = await n1.createConversation(['sender', 'hank']);
    const old = (await connect(n1, 'sse', 'hank', 3)) as SseClient;
    const fresh = await ws(n3, 'hank', 3);
    await old.closed(WAIT_MS);
    const last = old.events.at(-1);
    assert.equal(last?.event, 'kickout', JSON.stringify(old.events));
    const data = JSON.parse(last.data ?? '') as { code: number; error: string };
    assert.deepEqual(Object.keys(data).sort(), ['code', 'error']);
    assert.equal(data.code, 10009);

    const id = await sendVia(n1, senderToken, conversationId, 'after the login');
    await waitForIds(fresh, [id], 'the new WebSocket on node 3');
    assert.deepEqual(ids(old), []);
  });

  it('stops delivery on node 3 for the very next message sent through node 1 after a kick through node 2', async () => {
    const conversationId = await n1.createConversation(['sender', 'dave']);
    const fenceId = await n1.createConversation(['sender', 'dave']);
    const client = await ws(n3, 'dave');
    const m1 = await sendVia(n1, senderToken, conversationId, 'before the kick');
    await waitForIds(client, [m1], 'dave before the kick');

    const kick = await n2.post('/inner/kickout_conversation', {
      conversation_id: conversationId,
      sessions: ['dave'],
    });
    assert.equal(kick.status, 200, JSON.stringify(kick.body));
    const m2 = await sendVia(n1, senderToken, conversationId, 'right after the kick');
    // Node 1 publishes m2 and then the fence on one NATS connection, so node 3 sees them in
    // that order: had m2 been delivered, it would be there before the fence.
    const fence = await sendVia(n1, senderToken, fenceId, 'fence');
    await waitForIds(client, [fence], 'the fence');
    assert.deepEqual(ids(client), [m1, fence], `${m2} must not reach a kicked session`);
    assert.equal(client.isClosed, false, 'a kick ends delivery, not the connection');
  });

  it('starts delivery on node 3 after a join through node 2 without reconnecting', async () => {
    const conversationId = await n1.createConversation(['sender']);
    const client = await ws(n3, 'ivy');
    const m0 = await sendVia(n1, senderToken, conversationId, 'before the join');

    const join = await n2.post('/inner/join_conversation', {
      conversation_id: conversationId,
      sessions: ['ivy'],
    });
    assert.equal(join.status, 200, JSON.stringify(join.body));
    const m1 = await sendVia(n1, senderToken, conversationId, 'right after the join');
    await waitForIds(client, [m1], 'ivy after the join');
    assert.deepEqual(ids(client), [m1], `${m0} was sent before ivy joined`);
    assert.equal(client.isClosed, false);
  });

  const resumes = [
    ...PROTOCOLS.map((protocol) => ({ protocol, header: false, name: `${protocol} client` })),
    { protocol: 'sse' as const, header: true, name: 'sse client (Last-Event-ID header)' },
  ];
  for (const [n, { protocol, header, name }] of resumes.entries()) {
    it(`resumes a ${name} on node 2 after it left node 1: every missed message in order, then live`, async () => {
      const session = `erin-${n}`;
      const conversationId = await n1.createConversation(['sender', session]);
      const first = await connect(n1, protocol, session);
      const seen = await sendVia(n1, senderToken, conversationId, 'seen on node 1');
      await waitForIds(first, [seen], 'the first connection');
      await first.close();
      open.delete(first);

      const missed: string[] = [];
      for (let i = 0; i < 6; i++) {
        missed.push(await sendVia(i % 2 ? n3 : n2, senderToken, conversationId, `missed ${i}`));
      }
      const token = await n2.token(session);
      const resumed = header
        ? await SseClient.open(notifyUrl(n2, 'sse', { token }), { 'last-event-id': seen })
        : await openPush(n2, protocol, token, { last_msg_id: seen });
      open.add(resumed);
      await waitForIds(resumed, missed, 'the replay on node 2');
      const live = await sendVia(n3, senderToken, conversationId, 'live');
      await waitForIds(resumed, [live], 'the live message after the replay');
      assert.deepEqual(ids(resumed), [...missed, live]);
      if (resumed instanceof PollClient) assert.deepEqual(resumed.failures, []);
    });
  }

  it('answers the next poll on node 2 with a message that arrived after the previous poll on node 1', async () => {
    const conversationId = await n1.createConversation(['sender', 'paul']);
    const token = await n1.token('paul');
    assert.equal((await poll(n1, { token, timeout: 0 })).status, 204);
    const between = await sendVia(n1, senderToken, conversationId, 'between two polls');
    const next = await poll(n2, { token, timeout: 2 });
    assert.equal(next.status, 200, 'the message that arrived between the two polls');
    assert.equal(next.body.MsgId, between);
  });

  it('serves Prometheus metrics whose counters move on the node where a send, a delivery, a replay and a replacement happened', async () => {
    const text = await scrape(n2);
    for (const name of METRICS) assert.match(text, new RegExp(`^# TYPE ${name} \\w+$`, 'm'));
    const read = async (node: TestServer, name: string): Promise<number> =>
      metricValue(await scrape(node), name) ?? Number.NaN;
    const counters = async (name: string) => Promise.all([n1, n2, n3].map((n) => read(n, name)));
    // The counters of the three nodes with the one of node `i + 1` moved by one.
    const bumped = (values: number[], i: number) => values.map((v, k) => (k === i ? v + 1 : v));

    const conversationId = await n1.createConversation(['sender', 'mia']);
    const connectionsBefore = await read(n2, 'quickim_connections');
    const client = await ws(n2, 'mia');
    assert.equal(await read(n2, 'quickim_connections'), connectionsBefore + 1, 'connections');
    const accepted = await counters('quickim_messages_accepted_total');
    const delivered = await counters('quickim_messages_delivered_total');
    const id = await sendVia(n1, senderToken, conversationId, 'counted');
    await waitForIds(client, [id], 'mia on node 2');
    assert.deepEqual(
      await counters('quickim_messages_accepted_total'),
      bumped(accepted, 0),
      'accepted counts on the node that stored the message',
    );
    assert.deepEqual(
      await counters('quickim_messages_delivered_total'),
      bumped(delivered, 1),
      'delivered counts on the node holding the connection',
    );

    const replaced = await counters('quickim_replacements_total');
    const old = await ws(n1, 'nick', 5);
    await ws(n3, 'nick', 5);
    assert.equal(await old.closed(WAIT_MS), 4001);
    assert.deepEqual(
      await counters('quickim_replacements_total'),
      bumped(replaced, 0),
      'replacements count on the node whose connection was replaced',
    );

    await client.close();
    const missed = [
      await sendVia(n1, senderToken, conversationId, 'missed 1'),
      await sendVia(n1, senderToken, conversationId, 'missed 2'),
    ];
    const replayed = await read(n3, 'quickim_messages_replayed_total');
    const resumed = await connect(n3, 'ws', 'mia', 1, { last_msg_id: id });
    await waitForIds(resumed, missed, 'the replay on node 3');
    assert.equal(await read(n3, 'quickim_messages_replayed_total'), replayed + 2, 'replayed');
  });
});
