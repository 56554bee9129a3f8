/** Exit statuses: 2 for anything the operator must fix in the command line or the settings. */
export const Exit = { Ok: 0, Failure: 1, Usage: 2 } as const;

/** What a command ends with: an exit status, or `running` while it serves (a signal ends it). */
export type Outcome = number | 'running';

/** One `quick-im <name>`; `--help` is generated from these. */
export interface Command {
  readonly name: string;
  /** What follows `quick-im` in the usage line. */
  readonly usage: string;
  readonly summary: string;
  run(argv: readonly string[]): Promise<Outcome>;
}

/** A command line the CLI cannot run (exit 2); the message is one line naming what is wrong. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? '';
}

/** Writes `text` to stdout. */
export function print(text: string): void {
  process.stdout.write(text);
}
