import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { ManualClock } from '../helpers/manual-clock.js';
import { SseClient, WsClient, closeAll, notifyUrl, poll } from '../helpers/push-clients.js';
import { isPollWaiting, pollWaits, sendMsg } from '../helpers/push-fixtures.js';
import type { PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const PING_MS = 1000;
const SSE_HEARTBEAT_MS = 2000;
const TOKEN_TTL_SEC = 600;

describe('push timers on the Hub’s clock', () => {
  let server: TestServer;
  let clock: ManualClock;
  let senderToken: string;
  const open = new Set<PushClient>();
  let seq = 0;

  before(async () => {
    clock = new ManualClock();
    server = await startServer(
      { pingIntervalMs: PING_MS, sseHeartbeatMs: SSE_HEARTBEAT_MS, tokenTtlSec: TOKEN_TTL_SEC },
      { clock },
    );
    senderToken = await server.token('sender');
  });

  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });

  after(() => server.close(true));

  function tick(ms: number): void {
    clock.advance(ms);
    server.app.hub.tick();
  }

  async function member(): Promise<{ session: string; conversationId: string }> {
    const session = `timed-${++seq}`;
    return { session, conversationId: await server.createConversation([session, 'sender']) };
  }

  async function ws(session: string, autoPong = true, platform = 1): Promise<WsClient> {
    const token = await server.token(session, platform);
    const client = await WsClient.open(notifyUrl(server, 'ws', { token }), { autoPong });
    open.add(client);
    return client;
  }

  async function sse(session: string, platform = 2): Promise<SseClient> {
    const token = await server.token(session, platform);
    const client = await SseClient.open(notifyUrl(server, 'sse', { token }));
    open.add(client);
    return client;
  }

  it('closes a WebSocket that misses a pong', async () => {
    const { session } = await member();
    const client = await ws(session, false);
    tick(PING_MS);
    await client.until(() => client.pings === 1, 5000, 'the first ping');
    await client.roundTrip();
    assert.equal(client.isClosed, false, 'open until the next ping is due');
    tick(PING_MS);
    const code = await client.closed();
    assert.ok(code === 1006 || code === 4000, `closed with ${code}`);
    assert.equal(server.app.hub.find(session, 1), undefined);
  });

  it('keeps a WebSocket that answers pings open and delivering', async () => {
    const { session, conversationId } = await member();
    const client = await ws(session);
    tick(PING_MS / 2 - 1);
    await client.roundTrip();
    assert.equal(client.pings, 0, 'no ping before half of pingIntervalMs');
    tick(PING_MS / 2 + 1);
    for (let round = 1; round <= 5; round++) {
      await client.until(() => client.pings === round, 5000, `ping ${round}`);
      // Our pong precedes this ping on the wire, so the server has read it once the pong returns.
      await client.roundTrip();
      tick(PING_MS);
    }
    assert.equal(client.isClosed, false);
    const id = await sendMsg(server, senderToken, conversationId, 'still here');
    await client.until(() => client.messages.length === 1, 5000, 'a message after five pings');
    assert.equal(client.messages[0]?.MsgId, id);
  });

  it('spreads the first pings of connections opened together over the second half of the interval', async () => {
    const clients: WsClient[] = [];
    for (let i = 0; i < 20; i++) clients.push(await ws((await member()).session));
    const pinged = async (): Promise<number> => {
      for (const c of clients) await c.roundTrip();
      return clients.filter((c) => c.pings > 0).length;
    };
    tick(PING_MS / 2 - 1);
    assert.equal(await pinged(), 0, 'none in the first half');
    tick(PING_MS / 4);
    const early = await pinged();
    // Each first ping is uniform over the second half: all 20 on one side of its middle has
    // probability 2 × 2^-20.
    assert.ok(early > 0 && early < 20, `${early} of 20 pinged by 3/4 of the interval`);
    tick(PING_MS / 4 + 1);
    await Promise.all(clients.map((c) => c.until(() => c.pings === 1, 5000, 'every first ping')));
  });

  it('sends the first SSE comment heartbeat within sseHeartbeatMs, then one every sseHeartbeatMs', async () => {
    const { session, conversationId } = await member();
    const client = await sse(session);
    const beats = (): number => client.comments.filter((c) => c !== 'connected').length;
    tick(SSE_HEARTBEAT_MS / 2 - 1);
    await sendMsg(server, senderToken, conversationId, 'marker');
    await client.until(() => client.messages.length === 1, 5000, 'the marker');
    assert.equal(beats(), 0, 'no heartbeat before half of sseHeartbeatMs');
    tick(SSE_HEARTBEAT_MS / 2 + 1);
    await client.until(() => beats() === 1, 5000, 'the first heartbeat comment');
    tick(SSE_HEARTBEAT_MS);
    await client.until(() => beats() === 2, 5000, 'the second heartbeat comment');
    assert.equal(client.ended, false);
    assert.equal(client.events.length, 1, 'heartbeats are comments, not events');
  });

  it('closes a WebSocket with 4010, ends SSE with event: expired and answers a waiting poll 401 when the token expires', async () => {
    const { session } = await member();
    const tokens = await Promise.all([1, 2, 3].map((p) => server.token(session, p)));
    const [wsToken, sseToken, pollToken] = tokens as [string, string, string];
    const exps = tokens.map((t) => expiryMs(t));
    const wsClient = await WsClient.open(notifyUrl(server, 'ws', { token: wsToken }));
    const sseClient = await SseClient.open(notifyUrl(server, 'sse', { token: sseToken }));
    open.add(wsClient).add(sseClient);

    // Jump to 30 s before exp, answering the ping that falls due, so only expiry closes.
    tick(Math.min(...exps) - 30_000 - clock.now());
    await wsClient.until(() => wsClient.pings === 1, 5000, 'a ping');
    await wsClient.roundTrip();
    const waiting = poll(server, { token: pollToken, timeout: 60 });
    await pollWaits(server, session, 3, 'the poll to wait');
    tick(30_000 - 1);
    await wsClient.until(() => wsClient.pings === 2, 5000, 'a second ping');
    await wsClient.roundTrip();
    assert.equal(wsClient.isClosed, false, 'open 1 ms before exp');
    assert.equal(sseClient.ended, false, 'streaming 1 ms before exp');
    assert.ok(isPollWaiting(server, session, 3), 'polling before exp');

    tick(Math.max(...exps) - clock.now());
    assert.equal(await wsClient.closed(), 4010);
    await sseClient.closed();
    const last = sseClient.events.at(-1);
    assert.equal(last?.event, 'expired');
    assert.equal(JSON.parse(last.data ?? '').code, 10101);
    const answer = await waiting;
    assert.equal(answer.status, 401);
    assert.equal(answer.body.code, 10101);
  });
});

/** A token's `exp` claim in ms. */
function expiryMs(token: string): number {
  const payload: unknown = JSON.parse(
    Buffer.from(token.split('.')[1] ?? '', 'base64url').toString(),
  );
  return (payload as { exp: number }).exp * 1000;
}
