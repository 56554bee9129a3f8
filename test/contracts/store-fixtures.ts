import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Message } from '../../src/domain/message.js';
import { MsgIdAllocator, formatMsgId, parseMsgId } from '../../src/domain/msg-id.js';
import type {
  AllocateMsgId,
  ConversationStore,
  MessageDraft,
  MessageStore,
} from '../../src/store/store.js';

/**
 * Makes a fresh, empty store that allocates ids with `allocator`, and a `cleanup` that disposes
 * of it (also after the store was closed).
 */
export type StoreFactory<S> = (
  allocator: AllocateMsgId,
) => Promise<{ store: S; cleanup: () => Promise<void> }>;

/** An allocator of its own, as a node has. */
export function newAllocator(node = 1): AllocateMsgId {
  const ids = new MsgIdAllocator(node);
  return (last) => ids.next(last);
}

/** Runs `fn` on a fresh store from `factory`, cleaning up after it whatever happens. */
export async function withStore<S>(
  factory: StoreFactory<S>,
  fn: (store: S) => Promise<void>,
  allocator: AllocateMsgId = newAllocator(),
): Promise<void> {
  const { store, cleanup } = await factory(allocator);
  try {
    await fn(store);
  } finally {
    await cleanup();
  }
}

/** An id that sorts strictly between `id` and any later id of its allocator (same time and seq, next node). */
export function justAfter(id: string): string {
  const parts = parseMsgId(id);
  return formatMsgId({ ...parts, node: parts.node + 1 });
}

/** Smaller than every id an allocator with a real clock produces. */
export const LOWEST_ID = formatMsgId({ timeMs: 0, seq: 0, node: 0 });
/** Greater than every id an allocator with a real clock produces. */
export const HIGHEST_ID = formatMsgId({ timeMs: 2 ** 45 - 1, seq: 0, node: 0 });

export const ids = (messages: readonly Message[]): string[] => messages.map((m) => m.MsgId);

export const sorted = (list: readonly string[]): string[] => [...list].sort();

export function assertStrictlyIncreasing(list: readonly string[]): void {
  for (let i = 1; i < list.length; i++) {
    assert.ok(
      (list[i - 1] as string) < (list[i] as string),
      `ids out of order at ${i}: ${list[i - 1]} then ${list[i]}`,
    );
  }
}

/** A conversation with a fresh id and `sessions` as members. */
export async function conversation(
  store: ConversationStore,
  sessions: readonly string[],
  type = 0,
): Promise<string> {
  const id = randomUUID();
  await store.createConversation(id, type, sessions);
  return id;
}

export function draft(
  conversationId: string,
  fromSession: string,
  over: Partial<MessageDraft> = {},
): MessageDraft {
  return {
    conversationId,
    fromSession,
    status: 0,
    type: 1,
    content: 'hi',
    sendTime: 1_698_119_710_632_897,
    ...over,
  };
}

/** Appends and returns the stored message, failing the test unless it was appended. */
export async function send(
  store: MessageStore,
  conversationId: string,
  fromSession: string,
  over: Partial<MessageDraft> = {},
): Promise<Message> {
  const result = await store.appendMessage(draft(conversationId, fromSession, over));
  assert.equal(result.kind, 'appended');
  if (result.kind !== 'appended') throw new Error('unreachable');
  return result.message;
}
