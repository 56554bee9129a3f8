import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../helpers/manual-clock.js';
import { SseClient, WsClient, notifyUrl, poll } from '../helpers/push-clients.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

// EXTENSIONS.md "Read state, member list, presence": /inner/get_presence on one node.

interface Presence {
  readonly Session: string;
  readonly Online: boolean;
  readonly Platforms: number[];
}

async function presenceOf(server: TestServer, sessions: string[]): Promise<Presence[]> {
  const res = await server.post('/inner/get_presence', { sessions });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.Presence as Presence[];
}

async function platformsOf(server: TestServer, session: string): Promise<number[]> {
  return (await presenceOf(server, [session]))[0]?.Platforms ?? [];
}

describe('/inner/get_presence on one node', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close(true));

  it('shows a session online with its platforms while it has ws or sse connections', async () => {
    assert.deepEqual(await presenceOf(server, ['alice']), [
      { Session: 'alice', Online: false, Platforms: [] },
    ]);
    const ws = await WsClient.open(
      notifyUrl(server, 'ws', { token: await server.token('alice', 7) }),
    );
    const sse = await SseClient.open(
      notifyUrl(server, 'sse', { token: await server.token('alice', 2) }),
    );
    try {
      assert.deepEqual(await presenceOf(server, ['alice']), [
        { Session: 'alice', Online: true, Platforms: [2, 7] },
      ]);
      await ws.close();
      await waitFor(
        async () => (await platformsOf(server, 'alice')).join() === '2',
        5000,
        'the ws platform to go offline',
      );
      await sse.close();
      await waitFor(
        async () => (await platformsOf(server, 'alice')).length === 0,
        5000,
        'alice to go offline',
      );
      assert.deepEqual(await presenceOf(server, ['alice']), [
        { Session: 'alice', Online: false, Platforms: [] },
      ]);
    } finally {
      await Promise.all([ws.close(), sse.close()]);
    }
  });

  it('answers in the order asked, repeats included', async () => {
    const ws = await WsClient.open(notifyUrl(server, 'ws', { token: await server.token('bob') }));
    try {
      const answer = await presenceOf(server, ['zed', 'bob', 'zed']);
      assert.deepEqual(
        answer.map((p) => [p.Session, p.Online]),
        [
          ['zed', false],
          ['bob', true],
          ['zed', false],
        ],
      );
    } finally {
      await ws.close();
    }
  });

  it('refuses bad input with 10001', async () => {
    const bad: unknown[] = [
      {},
      { sessions: 'alice' },
      { sessions: [1] },
      { sessions: [''] },
      { sessions: ['é'.repeat(65)] },
      { sessions: Array.from({ length: 1001 }, (_, i) => `s${i}`) },
    ];
    for (const body of bad) {
      const res = await server.post('/inner/get_presence', body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(res.body.code, 10001);
    }
    const most = await presenceOf(
      server,
      Array.from({ length: 1000 }, (_, i) => `s${i}`),
    );
    assert.equal(most.length, 1000);
  });
});

describe('/inner/get_presence and long-poll', () => {
  it('counts a poll answered within the last 60 s, and not after', async () => {
    const clock = new ManualClock();
    const server = await startServer({}, { clock });
    try {
      const token = await server.token('carol', 4);
      const answered = await poll(server, { token, timeout: 0 });
      assert.equal(answered.status, 204);
      assert.deepEqual(await platformsOf(server, 'carol'), [4]);
      clock.advance(59_000);
      server.app.hub.tick();
      assert.deepEqual(await platformsOf(server, 'carol'), [4], '59 s after the answer');
      clock.advance(1_000);
      server.app.hub.tick();
      assert.deepEqual(await platformsOf(server, 'carol'), [], '60 s after the answer');
    } finally {
      await server.close(true);
    }
  });
});
