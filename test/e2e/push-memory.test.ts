import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SseClient, WsClient, closeAll, notifyUrl } from '../helpers/push-clients.js';
import { sendMsg, tokenMinter } from '../helpers/push-fixtures.js';
import type { PushClient } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { mapLimit } from '../helpers/wait.js';

const SLOW_CLIENTS = 1000;
const CONTENT = 'x'.repeat(60_000);
/** Bounds the sender; each paused loopback socket absorbs a few MB before the Hub sees it. */
const MAX_SENDS = 200;
/** Generous: the test process holds the server and all 1,002 clients. */
const MAX_RSS_GROWTH_BYTES = 300 * 1024 * 1024;

describe('server memory with clients that never read', () => {
  let server: TestServer;
  const clients: PushClient[] = [];

  before(async () => {
    server = await startServer({ queueMaxMessages: 8, queueMaxBytes: 64 * 1024 });
  });

  after(async () => {
    // Terminating frees the kernel buffers the paused sockets hold.
    for (const c of clients) if (c instanceof WsClient) c.ws.terminate();
    await closeAll(clients);
    await server.close(true);
  });

  it('closes 1,000 clients that never read, keeping memory bounded while the others receive everything', async () => {
    const started = Date.now();
    const mint = tokenMinter(server);
    const sessions = Array.from({ length: SLOW_CLIENTS }, (_, i) => `never-reads-${i}`);
    const created = await server.post('/inner/create_conversation', {
      conversation_type: 0,
      sessions: [...sessions.slice(0, 998), 'reader', 'sender'],
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const conversationId: string = created.body.data.ConversationId;
    const joined = await server.post('/inner/join_conversation', {
      conversation_id: conversationId,
      sessions: sessions.slice(998),
    });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));

    const slow = await mapLimit(sessions, 50, async (s) =>
      WsClient.open(notifyUrl(server, 'ws', { token: await mint(s) })),
    );
    clients.push(...slow);
    for (const c of slow) c.pause();
    const readers = [
      await WsClient.open(notifyUrl(server, 'ws', { token: await mint('reader', 1) })),
      await SseClient.open(notifyUrl(server, 'sse', { token: await mint('reader', 2) })),
    ];
    clients.push(...readers);
    assert.equal(server.app.hub.size, SLOW_CLIENTS + readers.length);

    const senderToken = await mint('sender');
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sent: string[] = [];
    while (server.app.hub.size > readers.length && sent.length < MAX_SENDS) {
      sent.push(await sendMsg(server, senderToken, conversationId, CONTENT));
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    assert.equal(
      server.app.hub.size,
      readers.length,
      `${server.app.hub.size - readers.length} slow clients still connected after ${sent.length} messages`,
    );
    await Promise.all(readers.map((r) => r.waitForMessages(sent.length, 20_000)));
    peak = Math.max(peak, process.memoryUsage().rss);
    for (const r of readers)
      assert.deepEqual(
        r.messages.map((m) => m.MsgId),
        sent,
        r.protocol,
      );
    assert.ok(
      peak - baseline < MAX_RSS_GROWTH_BYTES,
      `rss grew ${Math.round((peak - baseline) / 2 ** 20)} MiB while ${sent.length} messages of 60 kB went to ${SLOW_CLIENTS} stalled clients`,
    );
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });
});
