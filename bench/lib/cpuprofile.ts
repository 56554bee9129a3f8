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
