import { MemberState } from './member-state.js';
import type { SelfJoinResult } from './store.js';
import type { MembershipEventOf, OutboxDraft } from './webhook-outbox.js';

// What a membership change does, decided the same way by both stores; each reads and writes
// its own rows in its own transaction.

/** Each of `ids` once, in the order first seen. */
export function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/**
 * The sessions (each once, in the order first seen) whose membership the change moves: those
 * not members before, when `joining`; those members before, otherwise.
 */
export function sessionsChanged(
  sessions: readonly string[],
  isMember: (session: string) => boolean,
  joining: boolean,
): string[] {
  return distinct(sessions).filter((s) => isMember(s) !== joining);
}

/**
 * Why a session of an existing conversation may not join by itself, given its member state
 * (null or undefined: no member row); undefined: it joins.
 */
export function selfJoinRefusal(
  state: number | null | undefined,
): Exclude<SelfJoinResult, 'joined' | 'not-found'> | undefined {
  if (state === MemberState.Kicked) return 'kicked';
  if (state === MemberState.Member) return 'already-member';
  return undefined;
}

/** The outbox row of a change: none when it changed no one. */
export function changeEvent(
  event: MembershipEventOf | undefined,
  changed: readonly string[],
): OutboxDraft | undefined {
  return event && changed.length > 0 ? event(changed) : undefined;
}

/** Of `ids` (each once, in the order first seen), those `exists` does not find. */
export function missingIds(ids: readonly string[], exists: (id: string) => boolean): string[] {
  return distinct(ids).filter((id) => !exists(id));
}
