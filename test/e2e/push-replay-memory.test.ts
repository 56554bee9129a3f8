import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startNodeProcess } from '../helpers/child-nodes.js';
import type { NodeProcess } from '../helpers/child-nodes.js';
import { pushUrl, sendVia, tokenFrom } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/processes.js';
import { tempDataDir } from '../helpers/server.js';
import { mapLimit } from '../helpers/wait.js';

const MESSAGES = 1000;
const CONTENT = 'x'.repeat(60_000);
const RESUMES = 4;
const MAX_RSS_GROWTH_BYTES = 150 * 1024 * 1024;
/** Polls of /metrics in a row (50 ms apart) that must read the same counters before the server is settled. */
const SETTLED_READS = 20;

/** The resident set of a process, in bytes, from `/proc/<pid>/status`. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  assert.ok(kb !== undefined, 'VmRSS in /proc/<pid>/status');
  return Number(kb) * 1024;
}

/** The replay and delivery counters of a node's `/metrics`. */
async function counters(node: NodeProcess): Promise<{ replayed: number; delivered: number }> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const value = (name: string): number =>
    Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    replayed: value('quickim_messages_replayed_total'),
    delivered: value('quickim_messages_delivered_total'),
  };
}

/** An SSE resume whose response is never read: the server's writes back up into its sockets. */
function neverReading(url: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      res.pause();
      resolve({ req, res });
    });
    req.once('error', reject);
    req.end();
  });
}

describe('resume replay memory', () => {
  const dataDir = tempDataDir();
  let node: NodeProcess;
  const streams: ClientRequest[] = [];

  before(async () => {
    node = await startNodeProcess(['--data-dir', dataDir, '--send-rate', '0']);
  });

  after(async () => {
    for (const req of streams) req.destroy();
    await node?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`grows RSS by less than 150 MiB for ${RESUMES} never-reading SSE resumes of ${MESSAGES} × 60 KB messages`, async (t) => {
    const created = await node.post('/inner/create_conversation', {
      conversation_type: 0,
      sessions: ['reader', 'sender'],
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const conversationId: string = created.body.data.ConversationId;
    const sender = await tokenFrom(node, 'sender');
    const seen = await sendVia(node, sender, conversationId, 'seen');
    await mapLimit(
      Array.from({ length: MESSAGES }, (_, i) => i),
      8,
      () => sendVia(node, sender, conversationId, CONTENT),
    );

    const before = rssOf(node.pid);
    for (let platform = 1; platform <= RESUMES; platform++) {
      const url = new URL(pushUrl(node, 'sse', await tokenFrom(node, 'reader', platform)));
      url.searchParams.set('last_msg_id', seen);
      const { req, res } = await neverReading(url.toString());
      streams.push(req);
      assert.equal(res.statusCode, 200);
    }

    // Settled: the sockets hold what they take and the counters stop moving.
    let last = await counters(node);
    let same = 0;
    await waitUntil(
      async () => {
        const now = await counters(node);
        same = now.replayed === last.replayed && now.delivered === last.delivered ? same + 1 : 0;
        last = now;
        return same >= SETTLED_READS;
      },
      30_000,
      'the replay counters to settle',
    );
    const grown = rssOf(node.pid) - before;
    t.diagnostic(
      `RSS ${Math.round(before / 2 ** 20)} -> +${Math.round(grown / 2 ** 20)} MiB; ` +
        `${last.replayed} messages read from the store, ${last.delivered} written`,
    );

    assert.ok(last.replayed >= RESUMES, `replayed ${last.replayed}`);
    assert.ok(
      last.replayed < RESUMES * MESSAGES,
      `the replays were read as the sockets drained, not whole: ${last.replayed} read`,
    );
    assert.ok(
      grown < MAX_RSS_GROWTH_BYTES,
      `RSS grew ${Math.round(grown / 1024 / 1024)} MiB (${last.replayed} replayed, ${last.delivered} written)`,
    );
  });
});
