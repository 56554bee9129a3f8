import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './proc.js';

const START = '<!-- bench:start (written by `npm run bench -- --readme`) -->';
const END = '<!-- bench:end -->';

/** Replaces what lies between the README's bench markers with `section`. */
export function writeReadmeSection(section: string): void {
  const path = join(ROOT, 'README.md');
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a === -1 || b === -1 || b < a) {
    throw new Error(`README.md has no "${START}" … "${END}" markers`);
  }
  writeFileSync(path, `${text.slice(0, a + START.length)}\n\n${section}\n\n${text.slice(b)}`);
}
