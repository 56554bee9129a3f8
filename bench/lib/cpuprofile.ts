/** The shape of a V8 `.cpuprofile` (what `node --cpu-prof` writes), as the profile tools read it. */
export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface Profile {
  readonly nodes: readonly ProfileNode[];
  /** Monotonic clock, µs (CLOCK_MONOTONIC on Linux, as `process.hrtime` reads it). */
  readonly startTime?: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/**
 * Each sampled node's self time, µs: of the samples inside `window` only (monotonic µs, the
 * clock of `startTime`) when given.
 */
export function selfTimes(
  profile: Profile,
  window?: { readonly startUs: number; readonly endUs: number },
): Map<number, number> {
  const selfUs = new Map<number, number>();
  let t = profile.startTime ?? 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (window !== undefined && (t < window.startUs || t > window.endUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  });
  return selfUs;
}

/** A function giving a node's stack of call frames, leaf first. */
export function stacksOf(profile: Profile): (id: number) => CallFrame[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return (id) => {
    const stack: CallFrame[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const node = byId.get(x);
      if (node === undefined) break;
      stack.push(node.callFrame);
    }
    return stack;
  };
}
