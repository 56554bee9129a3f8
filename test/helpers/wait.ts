/** `what` as text: a function is called only when the message is needed. */
function describeWhat(what: string | (() => string)): string {
  return typeof what === 'string' ? what : what();
}

function timedOut(timeoutMs: number, what: string | (() => string)): Error {
  return new Error(`timed out after ${timeoutMs} ms waiting for ${describeWhat(what)}`);
}

/**
 * Resolves or rejects as `promise` does, or rejects after `timeoutMs` naming `what`. The
 * timeout is a safety net against a hang, never the thing a test waits for.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(timeoutMs, what)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Conditions over state that changes only when an event arrives: the owner calls `notify()`
 * after each event (a frame, a ping, a close), and `until` re-checks its predicate then, and
 * at no other time.
 */
export class Changes {
  private readonly waiters = new Set<() => void>();

  /** Re-checks every pending `until`; call after each change of the watched state. */
  notify(): void {
    for (const check of [...this.waiters]) check();
  }

  /** Calls `listener` after each change until the returned function is called. */
  listen(listener: () => void): () => void {
    this.waiters.add(listener);
    return () => this.waiters.delete(listener);
  }

  /**
   * Resolves once `predicate` holds (at once, or after the `notify()` that makes it hold);
   * rejects after `timeoutMs` naming `what`, or with the predicate's own error.
   */
  until(predicate: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (...failure: [unknown?]): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (failure.length === 0) resolve();
        else reject(failure[0]);
      };
      const check = (): void => {
        try {
          if (predicate()) done();
        } catch (err) {
          done(err);
        }
      };
      const timer = setTimeout(() => done(timedOut(timeoutMs, what)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

/**
 * Lets `ms` pass so that something that must NOT happen has had its chance to (a message
 * that must not arrive, a close that must not come). Only for such negative checks: a test
 * waiting for something to happen waits on its event instead. `_why` documents the call site.
 */
export function expectNothingFor(ms: number, _why: string): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * FALLBACK, not the way to wait: checks `check` every `everyMs` until it holds, failing after
 * `timeoutMs` naming `what`. Only for state that no event of the test's own announces:
 * the server's in-process state (a long-poll waiting inside the Hub), files written by a
 * background thread, external processes' health endpoints, SDK clients not yet converted.
 * Everything a test's own socket, stream or process reports is awaited through its event.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
  everyMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() >= deadline) throw timedOut(timeoutMs, what);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the items' order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
