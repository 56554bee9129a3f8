/**
 * What receiving a conversation's bus events costs a node that follows it (on the
 * interest-routed bus, a node with no member of the conversation does not receive them): NATS
 * receive + decode + one map lookup, in server CPU µs per event. The receiver follows all the
 * conversations the publisher uses, as every node did before routing.
 * Usage: npx tsx bench/tools/bus-broadcast.ts [events=50000]
 * Starts its own nats-server on 127.0.0.1 and a publisher in a child process.
 */
import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BusEvent } from '../../src/bus/bus.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { freePort } from '../lib/proc.js';

const self = fileURLToPath(import.meta.url);
const frame = JSON.stringify({
  MsgId: '3NAD5-7KXU-2222-6HD',
  ConversationID: '80cf5518-15b7-4b7b-925f-f75fb9bd5dc9',
  FromSession: 'alice',
  SendTime: 1795668756410571,
  Status: 0,
  Type: 1,
  Content: 'x'.repeat(100),
});

function event(i: number): BusEvent {
  return {
    type: 'message',
    conversationId: `conv-${i % 1000}`,
    msgId: String(i),
    prevMsgId: null,
    frame,
  };
}

async function publisher(url: string, count: number): Promise<void> {
  const bus = await NatsBus.open({ url });
  const batch = 500;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, (_, j) => bus.publish(event(i + j))),
    );
  }
  await bus.close();
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 50_000);
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  try {
    const bus = await NatsBus.open({ url });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => bus.follow(`conv-${i}`)));
    const rooms = new Map<string, unknown>(); // this node has no member anywhere
    let received = 0;
    let skipped = 0;
    let done: () => void = () => {};
    const all = new Promise<void>((r) => (done = r));
    bus.subscribe((e) => {
      if (e.type === 'message' && !rooms.has(e.conversationId)) skipped++;
      if (++received === count) done();
    });
    const before = process.cpuUsage();
    const t0 = performance.now();
    const child = fork(self, ['--publish', url, String(count)], { execArgv: ['--import', 'tsx'] });
    const deadline = setTimeout(() => done(), 120_000);
    await all;
    clearTimeout(deadline);
    const cpu = process.cpuUsage(before);
    const ms = performance.now() - t0;
    await new Promise((r) => child.once('exit', r));
    await bus.close();
    const us = (cpu.user + cpu.system) / received;
    console.log(
      `| events | received | wall s | receiver CPU µs/event | events/s |\n|--:|--:|--:|--:|--:|\n` +
        `| ${count} | ${received} (${skipped} dropped at the map lookup) | ${(ms / 1000).toFixed(1)} | ${us.toFixed(2)} | ${Math.round(received / (ms / 1000))} |`,
    );
  } finally {
    nats.kill();
  }
}

if (process.argv[2] === '--publish') {
  await publisher(process.argv[3] as string, Number(process.argv[4]));
} else {
  await main();
}
