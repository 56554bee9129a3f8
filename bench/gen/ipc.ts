import type { FromGen, ToGen } from '../lib/protocol.js';

const inbox: ToGen[] = [];
let wake: (() => void) | null = null;

process.on('message', (m) => {
  inbox.push(m as ToGen);
  wake?.();
});
// The orchestrator went away: nothing left to do.
process.on('disconnect', () => process.exit(1));

export function reply(msg: FromGen): void {
  process.send?.(msg);
}

/** The next command from the orchestrator; fails after `timeoutMs`. */
export async function nextCommand(timeoutMs: number): Promise<ToGen> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    const m = inbox.shift();
    if (m !== undefined) return m;
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    wake = null;
  }
  throw new Error(`no command within ${timeoutMs} ms`);
}

/** Sleeps until `check()` holds (every `everyMs`) or `timeoutMs` passes; returns `check()`. */
export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
  everyMs = 10,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000_000 && !check() && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}
