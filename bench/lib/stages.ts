/**
 * Where a server's main thread spends its time, by stage of the send path, from a V8 CPU
 * profile: the same stages for quick-im and the reference servers, so the two can be set side
 * by side (`npm run bench` does, for a missed fan-out goal; `bench/tools/cpuprofile-stages.ts`
 * prints one profile).
 *
 * Each sample counts once, for the first stage in `stages` that its stack matches. System
 * calls are told apart by the native function on top of the stack: `writeBuffer` is a socket
 * write of a prebuilt buffer (the fan-out's), `writev` / `writeUtf8String` the HTTP answer's.
 */
import { selfTimes, stacksOf } from './cpuprofile.js';
import type { CallFrame, Profile } from './cpuprofile.js';

interface Stage {
  readonly name: string;
  /** Matches on the stack, leaf first. */
  readonly test: (leaf: CallFrame, stack: readonly CallFrame[]) => boolean;
}

const any = (stack: readonly CallFrame[], f: (c: CallFrame) => boolean): boolean => stack.some(f);
const inPackage = (c: CallFrame, name: string): boolean => c.url.includes(`/node_modules/${name}/`);

export const IDLE = 'idle';

const stages: readonly Stage[] = [
  { name: IDLE, test: (l) => l.functionName === '(idle)' },
  { name: 'GC', test: (l) => l.functionName === '(garbage collector)' },
  {
    name: 'start-up (module loading)',
    test: (_, s) =>
      any(s, (c) => /compile|Module\._load|loadAndTranslate|wrapSafe/.test(c.functionName)),
  },
  {
    name: 'logging',
    test: (_, s) =>
      any(
        s,
        (c) => inPackage(c, 'pino') || inPackage(c, 'sonic-boom') || c.url.endsWith('/logger.js'),
      ),
  },
  {
    name: 'SQLite (append and commit)',
    test: (_, s) => any(s, (c) => inPackage(c, 'better-sqlite3')),
  },
  { name: 'socket writes (write syscalls)', test: (l) => l.functionName === 'writeBuffer' },
  {
    name: 'HTTP answer (write syscalls)',
    test: (l) =>
      /^(writev|writeUtf8String|writeLatin1String|writeAsciiString)$/.test(l.functionName),
  },
  {
    name: 'WebSocket handshakes',
    test: (_, s) => any(s, (c) => inPackage(c, 'ws') || c.url.includes('ws-transport')),
  },
  {
    name: 'token check',
    test: (_, s) => any(s, (c) => inPackage(c, 'jose') || c.url.includes('token-service')),
  },
  { name: 'metrics', test: (_, s) => any(s, (c) => inPackage(c, 'prom-client')) },
  {
    name: "Node's HTTP parser",
    test: (_, s) => any(s, (c) => /parserOn|_addHeaderLine|HTTPParser/.test(c.functionName)),
  },
  {
    name: 'JSON parse and validation',
    test: (l) =>
      inPackage(l, 'secure-json-parse') ||
      inPackage(l, 'ajv') ||
      /^(parse|JSONParse|defaultJsonParser)$/.test(l.functionName),
  },
  { name: 'JSON serialize', test: (l) => /^(stringify|JSONStringify)$/.test(l.functionName) },
  {
    name: 'Fastify',
    test: (l) =>
      inPackage(l, 'fastify') ||
      inPackage(l, 'find-my-way') ||
      inPackage(l, 'avvio') ||
      l.url.includes('/node_modules/@fastify/'),
  },
  {
    name: "the server's own code",
    test: (l) =>
      l.url.includes('/dist/') || l.url.includes('/src/') || l.url.includes('/bench/servers/'),
  },
  { name: 'Node core (streams, net, http, timers)', test: (l) => l.url.startsWith('node:') },
];

/** µs per stage; `window` (monotonic µs, as `process.hrtime` reads it) keeps only its samples. */
export function stageTimes(
  profile: Profile,
  window?: { readonly startUs: number; readonly endUs: number },
): Map<string, number> {
  const stackOf = stacksOf(profile);
  const totals = new Map<string, number>();
  for (const [id, us] of selfTimes(profile, window)) {
    const stack = stackOf(id);
    const leaf = stack[0];
    const name =
      leaf === undefined ? 'other' : (stages.find((s) => s.test(leaf, stack))?.name ?? 'other');
    totals.set(name, (totals.get(name) ?? 0) + us);
  }
  return totals;
}

/** The monotonic clock in µs, on the same scale as a profile's sample times. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Two servers' stages side by side, µs per unit (e.g. per publish), biggest difference
 * first, idle left out, with a total row; `title` heads the stage column.
 */
export function stageTable(
  title: string,
  names: readonly [string, string],
  times: readonly [ReadonlyMap<string, number>, ReadonlyMap<string, number>],
  units: readonly [number, number],
): { table: string; differences: Array<{ stage: string; diff: number; a: number }> } {
  const [a, b] = times;
  const stageNames = [...new Set([...a.keys(), ...b.keys()])].filter((s) => s !== IDLE);
  const per = (m: ReadonlyMap<string, number>, s: string, u: number): number => (m.get(s) ?? 0) / u;
  const rows = stageNames
    .map((stage) => {
      const x = per(a, stage, units[0]);
      const y = per(b, stage, units[1]);
      return { stage, a: x, b: y, diff: x - y };
    })
    .sort((p, q) => q.diff - p.diff);
  const f = (n: number): string => n.toFixed(1);
  const sign = (n: number): string => (n >= 0 ? `+${f(n)}` : f(n));
  const sumA = rows.reduce((s, r) => s + r.a, 0);
  const sumB = rows.reduce((s, r) => s + r.b, 0);
  const lines = [
    `| ${title} | ${names[0]} µs/publish | ${names[1]} µs/publish | difference |`,
    '|---|--:|--:|--:|',
    ...rows.map((r) => `| ${r.stage} | ${f(r.a)} | ${f(r.b)} | ${sign(r.diff)} |`),
    `| **all but idle** | **${f(sumA)}** | **${f(sumB)}** | **${sign(sumA - sumB)}** |`,
  ];
  return { table: lines.join('\n'), differences: rows };
}
