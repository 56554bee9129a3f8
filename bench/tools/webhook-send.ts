/**
 * What webhooks cost a send: /send_msg latency (p50, p99) and the server's CPU per message
 * with webhooks off, on with a fast receiver (answers 204 at once) and on with a hanging one
 * (never answers: every request waits out its 10 s timeout).
 * Usage: npx tsx bench/tools/webhook-send.ts [messages=10000] [concurrency=8] [rounds=2]
 * Runs the compiled server (`npm run build` first) on a fresh SQLite data dir per run; the
 * modes alternate within each round. The receiver and the senders share this process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, cpuMicros, freePort } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';

type Mode = 'off' | 'fast' | 'hanging';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

async function receiver(
  mode: Mode,
): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let count = 0;
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      if (mode === 'hanging') hanging.add(res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    count: () => count,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function post<T = unknown>(
  base: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await res.json()) as { code: number; data: T };
  if (json.code !== 0) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json.data;
}

async function run(mode: Mode, messages: number, concurrency: number) {
  const hooks = mode === 'off' ? undefined : await receiver(mode);
  const dataDir = mkdtempSync(join(tmpdir(), 'qim-webhook-bench-'));
  const port = await freePort();
  const args = [
    'dist/main.js',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data-dir',
    dataDir,
  ];
  args.push('--log-level', 'warn', '--send-rate', '0', '--join-rate', '0');
  if (hooks) args.push('--webhook-url', hooks.url, '--webhook-secret', SECRET);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        await fetch(`${base}/healthz`);
        break;
      } catch {
        if (i > 200) throw new Error('server did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const senders = Array.from({ length: concurrency }, (_, i) => `s${i}`);
    const conversations: string[] = [];
    const tokens: string[] = [];
    for (const s of senders) {
      tokens.push(await post<string>(base, '/inner/get_token', { session: s, platform: 1 }));
      const members = [s, ...Array.from({ length: 8 }, (_, j) => `m${j}`)];
      const c = await post<{ ConversationId: string }>(base, '/inner/create_conversation', {
        conversation_type: 0,
        sessions: members,
      });
      conversations.push(c.ConversationId);
    }
    // Warm up, then measure.
    const latencies = new Float64Array(messages);
    let next = 0;
    const warm = Math.min(1000, messages);
    await Promise.all(
      senders.map(async (_, i) => {
        for (let n = i; n < warm; n += concurrency) {
          await post(
            base,
            '/send_msg',
            { conversation_id: conversations[i], status: 0, type: 1, content: 'w' },
            tokens[i],
          );
        }
      }),
    );
    const pid = child.pid as number;
    const cpu0 = cpuMicros(pid);
    const t0 = performance.now();
    await Promise.all(
      senders.map(async (_, i) => {
        for (;;) {
          const k = next++;
          if (k >= messages) return;
          const started = performance.now();
          await post(
            base,
            '/send_msg',
            { conversation_id: conversations[i], status: 0, type: 1, content: `m${k}` },
            tokens[i],
          );
          latencies[k] = performance.now() - started;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpuPerMsg = (cpuMicros(pid) - cpu0) / messages;
    latencies.sort();
    return {
      mode,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      perSec: messages / seconds,
      cpuPerMsg,
      received: hooks?.count() ?? 0,
    };
  } finally {
    child.kill('SIGKILL');
    await hooks?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 10_000);
  const concurrency = Number(process.argv[3] ?? 8);
  const rounds = Number(process.argv[4] ?? 2);
  console.log(`${messages} sends, ${concurrency} concurrent senders, ${rounds} rounds`);
  console.log('mode     p50 ms  p99 ms  sends/s  server CPU µs/msg  webhook requests');
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['off', 'fast', 'hanging'] as const) {
      const x = await run(mode, messages, concurrency);
      console.log(
        `${x.mode.padEnd(8)} ${x.p50.toFixed(2).padStart(6)}  ${x.p99.toFixed(2).padStart(6)}  ${x.perSec.toFixed(0).padStart(7)}  ${x.cpuPerMsg.toFixed(0).padStart(17)}  ${x.received}`,
      );
    }
  }
}

await main();
