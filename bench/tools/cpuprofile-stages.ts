/**
 * `npx tsx bench/tools/cpuprofile-stages.ts <file.cpuprofile> [units]`: a V8 CPU profile's time
 * by stage of quick-im's send path (fan-out writes, SQLite commit, HTTP answer, logging, …).
 * Each sample counts once, for the first stage in the list below that any frame of its stack
 * belongs to; `units` (e.g. the messages published while profiling) turns ms into µs per unit.
 */
import { readFileSync } from 'node:fs';

import type { CallFrame, Profile } from '../lib/cpuprofile.js';

const stages: ReadonlyArray<readonly [string, (c: CallFrame) => boolean]> = [
  ['idle', (c) => c.functionName === '(idle)'],
  ['gc', (c) => c.functionName === '(garbage collector)'],
  [
    'start-up (module loading)',
    (c) => /compile|Module\._load|loadAndTranslate|wrapSafe/.test(c.functionName),
  ],
  ['logging', (c) => c.url.includes('pino') || c.url.includes('sonic-boom')],
  ['fan-out (socket writes)', (c) => c.functionName === 'deliverToRoom'],
  ['SQLite commit', (c) => c.url.includes('sqlite-group-commit')],
  [
    'metrics',
    (c) =>
      c.url.includes('prom-client') ||
      (c.url.includes('metrics.js') && c.functionName !== 'wrapper'),
  ],
  [
    'token check',
    (c) =>
      c.url.includes('token-service') || c.url.includes('/http/auth') || c.url.includes('jose'),
  ],
  ['HTTP answer write', (c) => /writePayload|onSendEnd/.test(c.functionName)],
  [
    'JSON parse',
    (c) => c.url.includes('secure-json-parse') || c.functionName === 'defaultJsonParser',
  ],
  ['schema validation', (c) => c.url.includes('ajv')],
  ['ws handshakes', (c) => c.url.includes('ws-transport') || c.url.includes('/ws/lib')],
  ["Node's HTTP parser", (c) => /parserOn|_addHeaderLine|HTTPParser/.test(c.functionName)],
  ['Fastify', (c) => c.url.includes('fastify') || c.url.includes('find-my-way')],
  ['quick-im, other', (c) => c.url.includes('/dist/') || c.url.includes('/src/')],
  ['Node streams and net', (c) => c.url.startsWith('node:')],
];

const [file, unitsArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: npx tsx bench/tools/cpuprofile-stages.ts <file.cpuprofile> [units]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const units = Number(unitsArg ?? 0);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) =>
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
);
const totals = new Map<string, number>();
for (const [id, us] of selfMicros) {
  const stack: CallFrame[] = [];
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
    const node = byId.get(x);
    if (node) stack.push(node.callFrame);
  }
  const stage = stages.find(([, test]) => stack.some(test))?.[0] ?? 'other';
  totals.set(stage, (totals.get(stage) ?? 0) + us);
}
for (const [stage, us] of [...totals].sort((a, b) => b[1] - a[1])) {
  const perUnit = units > 0 ? `  ${(us / units).toFixed(1).padStart(7)} µs/unit` : '';
  console.log(`${stage.padEnd(28)} ${(us / 1000).toFixed(0).padStart(7)} ms${perUnit}`);
}
