import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startNodeProcess } from '../helpers/child-nodes.js';
import type { ApiNode, NodeProcess } from '../helpers/child-nodes.js';
import { nodeAt, sendVia, startCluster, tokenFrom } from '../helpers/cluster.js';
import { natsUnavailable } from '../helpers/nats.js';
import { postgresUnavailable } from '../helpers/postgres.js';
import { skipReason } from '../helpers/processes.js';
import { tempDataDir } from '../helpers/server.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { deliveredIds, webhookSecret, webhookSettings } from '../helpers/webhooks.js';

const SECRET = webhookSecret();

describe(
  'webhooks on two nodes (PostgreSQL + NATS)',
  { skip: skipReason(postgresUnavailable() ?? natsUnavailable()) },
  () => {
    it("sends each event from one node while both live; the survivor takes over a killed node's leased events within 30 s", async () => {
      const receiver = await WebhookReceiver.start(SECRET);
      const cluster = await startCluster({ nodes: 1, settings: webhookSettings(receiver, SECRET) });
      const dataDir = tempDataDir();
      let child: NodeProcess | undefined;
      try {
        const n1 = nodeAt(cluster, 0);
        // The second node is a child process (it can be SIGKILLed), posting to its own path.
        child = await startNodeProcess([
          '--store',
          cluster.storeUrl,
          '--bus',
          cluster.nats.url,
          `--jwt-key=${cluster.jwtKey}`,
          '--data-dir',
          dataDir,
          '--webhook-url',
          `${receiver.url}/child`,
          '--webhook-secret',
          SECRET,
        ]);
        const n2 = child;
        const create = async (node: ApiNode, sessions: string[]): Promise<string> => {
          const res = await node.post('/inner/create_conversation', {
            conversation_type: 0,
            sessions,
          });
          assert.equal(res.status, 200);
          return res.body.data.ConversationId as string;
        };
        const alice = [await tokenFrom(n1, 'alice'), await tokenFrom(n2, 'alice')] as const;
        const nodes: readonly ApiNode[] = [n1, n2];

        // Both live: every event exactly once, both nodes delivering.
        const conversations = [
          await create(n1, ['alice', 'bob']),
          await create(n2, ['alice', 'bob']),
          await create(n1, ['alice', 'carol']),
          await create(n2, ['alice', 'carol']),
        ];
        for (let i = 0; i < 40; i++) {
          await sendVia(
            nodes[i % 2] as ApiNode,
            alice[i % 2] as string,
            conversations[i % 4] as string,
            `m${i}`,
          );
        }
        await receiver.until(() => deliveredIds(receiver).size === 44, 20_000, '44 events');
        assert.equal(receiver.received.length, 44, 'no event sent twice');
        const paths = new Set(receiver.received.map((r) => r.path));
        assert.deepEqual([...paths].sort(), ['/hooks', '/hooks/child'], 'both nodes deliver');

        // The child's requests hang; it dies holding their leases; the survivor sends them.
        receiver.answer = (r) => (r.path === '/hooks/child' ? 'hang' : 200);
        const before = receiver.received.length;
        const held: string[] = [];
        for (const s of ['dan', 'eve', 'fay', 'gus']) held.push(await create(n2, ['alice', s]));
        for (const c of held) await sendVia(n1, alice[0], c, 'after the head');
        await receiver.until(
          (all) => all.slice(before).some((r) => r.path === '/hooks/child'),
          20_000,
          'a request of the child in flight',
        );
        const leased = receiver.received
          .slice(before)
          .filter((r) => r.path === '/hooks/child')
          .map((r) => r.id);
        await child.kill('SIGKILL');
        const killedAt = Date.now();
        await receiver.until(
          () => {
            const ok = deliveredIds(receiver);
            return leased.every((id) => ok.has(id)) && ok.size === 44 + 8;
          },
          40_000,
          "the dead node's leased events, and the rest",
        );
        for (const id of leased) {
          const taken = receiver.delivered().find((r) => r.id === id);
          assert.equal(taken?.path, '/hooks', 'delivered by the survivor');
          assert.ok((taken?.at ?? Infinity) - killedAt <= 30_000, 'within 30 s');
        }
      } finally {
        await child?.kill('SIGKILL').catch(() => {});
        await cluster.stop();
        await receiver.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  },
);
