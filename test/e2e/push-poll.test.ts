import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../helpers/manual-clock.js';
import { MSG_DATA_KEYS, poll } from '../helpers/push-clients.js';
import { isPollWaiting, pollWaits, sendMsg } from '../helpers/push-fixtures.js';
import type { PollResult } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { expectNothingFor } from '../helpers/wait.js';

const PLATFORM = 1;

describe('long-poll', () => {
  let server: TestServer;
  let senderToken: string;
  const clock = new ManualClock();
  let seq = 0;

  before(async () => {
    server = await startServer({}, { clock });
    senderToken = await server.token('sender');
  });

  after(() => server.close(true));

  /** A session of its own in a conversation with the sender; its token for PLATFORM. */
  async function member(): Promise<{ session: string; token: string; conversationId: string }> {
    const session = `poller-${++seq}`;
    const conversationId = await server.createConversation([session, 'sender']);
    return { session, token: await server.token(session, PLATFORM), conversationId };
  }

  /** Starts a poll and resolves once the server holds it waiting. */
  async function outstanding(
    session: string,
    params: Record<string, string | number>,
  ): Promise<{ answer: Promise<PollResult> }> {
    const answer = poll(server, params);
    await pollWaits(server, session, PLATFORM, 'the poll to wait on the server');
    return { answer };
  }

  const send = (conversationId: string, content: string): Promise<string> =>
    sendMsg(server, senderToken, conversationId, content);

  it('answers 204 at once with timeout=0 when nothing is undelivered', async () => {
    const { token } = await member();
    const res = await poll(server, { token, timeout: 0 });
    assert.equal(res.status, 204);
    assert.equal(res.body, undefined);
  });

  it('answers 204 when the timeout passes on the Hub’s clock, not before', async () => {
    const { session, token } = await member();
    const { answer } = await outstanding(session, { token, timeout: 5 });
    let settled = false;
    void answer.then(() => (settled = true));
    clock.advance(4999);
    server.app.hub.tick();
    assert.ok(isPollWaiting(server, session, PLATFORM), 'held 1 ms before the timeout');
    await expectNothingFor(50, 'an early 204 to reach the client');
    assert.equal(settled, false, 'still waiting 1 ms before the timeout');
    clock.advance(1);
    server.app.hub.tick();
    assert.equal((await answer).status, 204);
  });

  it('waits 30 s by default', async () => {
    const { session, token } = await member();
    const { answer } = await outstanding(session, { token });
    clock.advance(29_999);
    server.app.hub.tick();
    assert.ok((server.app.hub.find(session, PLATFORM)?.wire.capacity() ?? 0) > 0, 'waits');
    clock.advance(1);
    server.app.hub.tick();
    assert.equal((await answer).status, 204);
  });

  it('answers a waiting poll as soon as a message arrives', async () => {
    const { session, token, conversationId } = await member();
    const { answer } = await outstanding(session, { token, timeout: 60 });
    const id = await send(conversationId, 'wake up');
    const res = await answer;
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(Object.keys(res.body).sort(), MSG_DATA_KEYS);
    assert.equal(res.body.MsgId, id);
    assert.equal(res.body.Content, 'wake up');
  });

  it('answers one MsgData object, the oldest undelivered, without batch', async () => {
    const { token, conversationId } = await member();
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
    const sent = [await send(conversationId, 'a'), await send(conversationId, 'b')];
    for (const id of sent) {
      const res = await poll(server, { token, timeout: 0 });
      assert.equal(res.status, 200);
      assert.ok(!Array.isArray(res.body), 'an object, not an array');
      assert.equal(res.body.MsgId, id);
    }
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
  });

  it('answers a JSON array of up to n messages with batch=n', async () => {
    const { token, conversationId } = await member();
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(await send(conversationId, `m${i}`));
    const first = await poll(server, { token, timeout: 0, batch: 3 });
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.map((m: { MsgId: string }) => m.MsgId),
      sent.slice(0, 3),
    );
    for (const m of first.body) assert.deepEqual(Object.keys(m).sort(), MSG_DATA_KEYS);
    const second = await poll(server, { token, timeout: 0, batch: 3 });
    assert.deepEqual(
      second.body.map((m: { MsgId: string }) => m.MsgId),
      sent.slice(3),
    );
    const one = await send(conversationId, 'single');
    const third = await poll(server, { token, timeout: 0, batch: 100 });
    assert.deepEqual(
      third.body.map((m: { MsgId: string }) => m.MsgId),
      [one],
      'still an array',
    );
  });

  it('keeps the place between polls: the next poll, without last_msg_id, answers what arrived in between', async () => {
    const { token, conversationId } = await member();
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
    const between = await send(conversationId, 'between polls');
    const res = await poll(server, { token, timeout: 0 });
    assert.equal(res.body.MsgId, between);
  });

  it('keeps the place for at least 60 s after a poll', async () => {
    const { session, token, conversationId } = await member();
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
    clock.advance(59_999);
    server.app.hub.tick();
    const id = await send(conversationId, 'a minute later');
    const res = await poll(server, { token, timeout: 0 });
    assert.equal(res.body.MsgId, id);
    clock.advance(server.settings.pollKeepMs + 1);
    server.app.hub.tick();
    assert.equal(server.app.hub.find(session, PLATFORM), undefined, 'forgotten after pollKeepMs');
  });

  it('loses no message when a waiting poll is abandoned by its client', async () => {
    const { session, token, conversationId } = await member();
    const abort = new AbortController();
    const abandoned = poll(server, { token, timeout: 60 }, { signal: abort.signal });
    await pollWaits(server, session, PLATFORM, 'the poll to wait');
    abort.abort();
    await assert.rejects(abandoned);
    await pollWaits(server, session, PLATFORM, 'the server to notice the abandoned poll', false);
    const id = await send(conversationId, 'after abandon');
    const res = await poll(server, { token, timeout: 0 });
    assert.equal(res.status, 200);
    assert.equal(res.body.MsgId, id);
  });

  it('answers with MsgData in MsgId order across a burst larger than one batch', async () => {
    const { token, conversationId } = await member();
    assert.equal((await poll(server, { token, timeout: 0 })).status, 204);
    const sent: string[] = [];
    for (let i = 0; i < 250; i++) sent.push(await send(conversationId, `burst${i}`));
    const got: string[] = [];
    for (let i = 0; i < 10 && got.length < sent.length; i++) {
      const res = await poll(server, { token, timeout: 0, batch: 100 });
      assert.equal(res.status, 200);
      assert.ok(res.body.length <= 100);
      got.push(...res.body.map((m: { MsgId: string }) => m.MsgId));
    }
    assert.deepEqual(got, sent);
  });
});
