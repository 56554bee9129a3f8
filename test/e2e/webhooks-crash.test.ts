import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { runMain, startNodeProcess } from '../helpers/child-nodes.js';
import type { NodeProcess } from '../helpers/child-nodes.js';
import { tokenFrom } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/processes.js';
import { tempDataDir } from '../helpers/server.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { deliveredBodies, webhookSecret } from '../helpers/webhooks.js';

const SECRET = webhookSecret();

describe('webhooks through the real entry point (dist/main.js)', () => {
  const dirs: string[] = [];
  const nodes: NodeProcess[] = [];
  after(async () => {
    for (const n of nodes) await n.kill('SIGKILL').catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("delivers every acknowledged message's event after a SIGKILL under four concurrent senders", async () => {
    const receiver = await WebhookReceiver.start(SECRET);
    try {
      // Until the kill, every request hangs: the first event of each conversation is in
      // flight (leased) when the node dies, the rest wait in the outbox.
      receiver.answer = () => 'hang';
      const dataDir = tempDataDir();
      dirs.push(dataDir);
      const args = [
        '--data-dir',
        dataDir,
        '--webhook-url',
        receiver.url,
        '--webhook-secret',
        SECRET,
      ];
      const first = await startNodeProcess(args);
      nodes.push(first);
      const senders = ['s0', 's1', 's2', 's3'];
      const conversations: string[] = [];
      for (const s of senders) {
        const res = await first.post('/inner/create_conversation', {
          conversation_type: 0,
          sessions: [s, 'reader'],
        });
        assert.equal(res.status, 200);
        conversations.push(res.body.data.ConversationId as string);
      }
      const tokens = await Promise.all(senders.map((s) => tokenFrom(first, s)));
      const acked: string[] = [];
      let killed = false;
      const loops = senders.map(async (_, i) => {
        for (let n = 0; !killed; n++) {
          try {
            const res = await first.post(
              '/send_msg',
              { conversation_id: conversations[i], status: 0, type: 1, content: `s${i}-${n}` },
              tokens[i],
            );
            if (res.status === 200) acked.push(res.body.data.MsgID as string);
          } catch {
            return; // the node is gone
          }
        }
      });
      await waitUntil(() => acked.length >= 200, 30_000, '200 acknowledged sends');
      await first.kill('SIGKILL');
      killed = true;
      await Promise.all(loops);
      assert.ok(receiver.received.length >= 4, 'each conversation had an event in flight');

      receiver.answer = () => 200;
      const second = await startNodeProcess(args);
      nodes.push(second);
      const messageIds = (): Set<string> =>
        new Set(
          deliveredBodies(receiver)
            .filter((b) => b.type === 'message.created')
            .map((b) => b.data.MsgId as string),
        );
      await receiver.until(
        () => {
          const got = messageIds();
          return acked.every((id) => got.has(id));
        },
        60_000,
        "every acknowledged message's event",
      );
      // In order per conversation: the first delivery of each event follows the MsgId order.
      for (const c of conversations) {
        const seen = new Set<string>();
        const ids = deliveredBodies(receiver, c)
          .filter((b) => b.type === 'message.created')
          .map((b) => b.data.MsgId as string)
          .filter((id) => !seen.has(id) && seen.add(id));
        assert.deepEqual(ids, [...ids].sort(), `order in ${c}`);
      }
      await second.kill('SIGTERM');
    } finally {
      await receiver.close();
    }
  });

  for (const [what, args, flag] of [
    ['a URL without a secret', ['--webhook-url', 'http://127.0.0.1:9/h'], '--webhook-secret'],
    [
      'a secret without whsec_',
      [
        '--webhook-url',
        'http://127.0.0.1:9/h',
        '--webhook-secret',
        'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
      ],
      '--webhook-secret',
    ],
  ] as const) {
    it(`refuses ${what} with one line naming ${flag}`, async () => {
      const dataDir = tempDataDir();
      dirs.push(dataDir);
      const run = await runMain([
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        ...args,
      ]);
      const detail = `exit ${run.code}; stderr ${JSON.stringify(run.stderr)}`;
      assert.notEqual(run.code, 0, detail);
      const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, detail);
      assert.ok(lines[0]?.includes(flag), detail);
      assert.doesNotMatch(run.stdout, /"msg":"listening"/);
    });
  }
});
