import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import {
  SseClient,
  WsClient,
  closeAll,
  notifyUrl,
  poll,
  wsRefusal,
} from '../helpers/push-clients.js';
import type { PushClient } from '../helpers/push-clients.js';
import { sendMsg } from '../helpers/push-fixtures.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const QUEUE_MAX_BYTES = 16 * 1024;

function assertUnavailable(status: number, body: unknown, label: string): void {
  const shown = `${label}: HTTP ${status} ${JSON.stringify(body)}`;
  assert.equal(status, 503, shown);
  assert.deepEqual(Object.keys(body ?? {}).sort(), ['code', 'error'], shown);
  assert.equal((body as { code: number }).code, 10002, shown);
}

describe('push connection limits', () => {
  const servers: TestServer[] = [];
  const open = new Set<PushClient>();

  afterEach(async () => {
    await closeAll(open);
    open.clear();
  });

  after(async () => {
    for (const s of servers) await s.close(true);
  });

  async function start(overrides: Parameters<typeof startServer>[0]): Promise<TestServer> {
    const server = await startServer(overrides);
    servers.push(server);
    return server;
  }

  it('refuses ws, sse and poll connections beyond --max-connections with 503 / 10002', async () => {
    const server = await start({ maxConnections: 2 });
    const ws = await WsClient.open(notifyUrl(server, 'ws', { token: await server.token('a') }));
    open.add(ws);
    const sse = await SseClient.open(notifyUrl(server, 'sse', { token: await server.token('b') }));
    open.add(sse);
    assert.equal(server.app.hub.size, 2);

    const token = await server.token('c');
    const refused = await wsRefusal(notifyUrl(server, 'ws', { token }));
    assertUnavailable(refused.status, refused.body, 'ws handshake');
    const res = await fetch(notifyUrl(server, 'sse', { token }));
    assertUnavailable(res.status, await res.json(), 'sse');
    const polled = await poll(server, { token, timeout: 0 });
    assertUnavailable(polled.status, polled.body, 'poll');

    // A connection replacing its own (session, platform) is not one more.
    const again = await WsClient.open(notifyUrl(server, 'ws', { token: await server.token('a') }));
    open.add(again);
    assert.equal(await ws.closed(5000), 4001);
    assert.equal(server.app.hub.size, 2);

    await sse.close();
    await waitFor(() => server.app.hub.size === 1, 5000, 'the SSE stream to be gone');
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204, 'room again');
  });

  it('bounds a long-poll place left by a timeout=0 client by --queue-max-bytes in UTF-8, and refills it from the store', async () => {
    const server = await start({ queueMaxBytes: QUEUE_MAX_BYTES });
    const conversationId = await server.createConversation(['poller', 'sender']);
    const token = await server.token('poller');
    const sender = await server.token('sender');
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204, 'the place exists');
    // 6,000 UTF-8 bytes each (2,000 UTF-16 units): three overflow 16 KiB; six would not in units.
    const content = '€'.repeat(2000);
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) sent.push(await sendMsg(server, sender, conversationId, content));
    const place = server.app.hub.find('poller', 1);
    assert.ok(place?.hasOverflowed, 'the place dropped its queue instead of holding it');

    const got: string[] = [];
    for (let i = 0; i < 10 && got.length < sent.length; i++) {
      const res = await poll(server, { token, timeout: 0, batch: 100 });
      assert.equal(res.status, 200, `poll ${i}`);
      got.push(...(res.body as { MsgId: string }[]).map((m) => m.MsgId));
    }
    assert.deepEqual(got, sent, 'nothing lost, nothing twice');
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
  });
});
