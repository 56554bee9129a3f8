/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- <workload> --profile`): self time by
 * function and by package/file, and total (inclusive) time of the heaviest frames.
 *
 *   npx tsx bench/tools/cpuprofile-top.ts bench/results/<name>.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

import { selfTimes, stacksOf } from '../lib/cpuprofile.js';
import type { CallFrame, Profile } from '../lib/cpuprofile.js';

const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (file === undefined) {
  console.error('usage: tsx bench/tools/cpuprofile-top.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const selfUs = selfTimes(profile);
const stackOf = stacksOf(profile);
const total = [...selfUs.values()].reduce((t, us) => t + us, 0);

function where(f: CallFrame): string {
  const url = f.url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return url;
  return url.replace(/^.*?\/(src|bench)\//, '$1/');
}

function label(f: CallFrame): string {
  return `${f.functionName || '(anonymous)'} ${where(f)}:${f.lineNumber + 1}`;
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

const fnSelf = new Map<string, number>();
const fileSelf = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const [leaf, ...callers] = stackOf(id);
  if (leaf === undefined) continue;
  add(fnSelf, label(leaf), us);
  add(fileSelf, where(leaf), us);
  // Inclusive: every distinct frame on the stack gets the sample once.
  for (const key of new Set([leaf, ...callers].map(label))) add(inclusive, key, us);
}

function print(title: string, map: Map<string, number>): void {
  console.log(`\n${title}`);
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) {
    console.log(
      `${((100 * us) / total).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    );
  }
}

console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
print('self time by package / file', fileSelf);
print('self time by function', fnSelf);
print('inclusive time by function', inclusive);
