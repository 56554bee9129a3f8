import assert from 'node:assert/strict';
import type { TestServer } from './server.js';
import { Changes } from './wait.js';

/** `MsgData` as the contract spells it. */
export interface MsgData {
  readonly MsgId: string;
  readonly ConversationID: string;
  readonly FromSession: string;
  readonly SendTime: number;
  readonly Status: number;
  readonly Type: number;
  readonly Content: string;
}

/** The contract's `MsgData` keys, sorted. */
export const MSG_DATA_KEYS = [
  'Content',
  'ConversationID',
  'FromSession',
  'MsgId',
  'SendTime',
  'Status',
  'Type',
];

export type Protocol = 'ws' | 'sse' | 'poll';
export const PROTOCOLS: readonly Protocol[] = ['ws', 'sse', 'poll'];

/** Query parameters of `/notify`; `undefined` values are left out. */
export type NotifyParams = Readonly<Record<string, string | number | undefined>>;

/** How long a client waits for an event before failing, unless a test says otherwise. */
export const EVENT_WAIT_MS = 5000;

/** `/notify` on `server` with `params` (and `protoc`), as an http:// or ws:// URL. */
export function notifyUrl(server: TestServer, protoc: string, params: NotifyParams = {}): string {
  const url = new URL('/notify', protoc === 'ws' ? server.url.replace(/^http/, 'ws') : server.url);
  url.searchParams.set('protoc', protoc);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url.toString();
}

/** Parses one pushed `MsgData` JSON text, checking it has exactly the contract's keys. */
export function parseMsgData(text: string): MsgData {
  const value: unknown = JSON.parse(text);
  assert.equal(typeof value, 'object', text);
  assert.ok(value !== null && !Array.isArray(value), text);
  assert.deepEqual(Object.keys(value as object).sort(), MSG_DATA_KEYS, text);
  return value as MsgData;
}

/** Messages pushed to one connection, and waits resolved by the events that bring them. */
export interface PushClient {
  readonly protocol: Protocol;
  readonly messages: MsgData[];
  /**
   * Resolves once `predicate` holds; it is checked now and after each event of this client
   * (a message, a close, …). Rejects after `timeoutMs` naming `what`.
   */
  until(predicate: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void>;
  /** Resolves once at least `n` messages have arrived. */
  waitForMessages(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves once every id of `ids` has arrived (`what` names the wait in a timeout). */
  waitForIds(ids: readonly string[], timeoutMs?: number, what?: string): Promise<void>;
  /** Resolves with the first message after those already received. */
  nextMessage(timeoutMs?: number): Promise<MsgData>;
  /** Calls `listener` after each event of this client until the returned function is called. */
  onEvent(listener: () => void): () => void;
  /** The client goes away (no close handshake is awaited beyond a short bound). */
  close(): Promise<void>;
}

/**
 * Resolves once `predicate` over several clients holds; it is checked now and after each
 * event of any of them. Rejects after `timeoutMs` naming `what`.
 */
export async function untilClients(
  clients: readonly PushClient[],
  predicate: () => boolean,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const changes = new Changes();
  const stops = clients.map((c) => c.onEvent(() => changes.notify()));
  try {
    await changes.until(predicate, timeoutMs, what);
  } finally {
    for (const stop of stops) stop();
  }
}

/** The message list and event-driven waits every push client shares. */
export abstract class PushInbox implements PushClient {
  abstract readonly protocol: Protocol;
  readonly messages: MsgData[] = [];
  /** Subclasses call `changes.notify()` after every event that changes their state. */
  protected readonly changes = new Changes();

  abstract close(): Promise<void>;

  /** Records a pushed message and wakes the waits on it. */
  protected receive(message: MsgData): void {
    this.messages.push(message);
    this.changes.notify();
  }

  until(predicate: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    return this.changes.until(predicate, timeoutMs, what);
  }

  onEvent(listener: () => void): () => void {
    return this.changes.listen(listener);
  }

  waitForMessages(n: number, timeoutMs = EVENT_WAIT_MS): Promise<void> {
    return this.until(
      () => this.messages.length >= n,
      timeoutMs,
      () => `${n} messages on ${this.protocol}, got ${this.messages.length}`,
    );
  }

  waitForIds(ids: readonly string[], timeoutMs = EVENT_WAIT_MS, what?: string): Promise<void> {
    const missing = (): string[] => {
      const have = new Set(this.messages.map((m) => m.MsgId));
      return ids.filter((id) => !have.has(id));
    };
    return this.until(
      () => missing().length === 0,
      timeoutMs,
      () => `${what ?? 'messages'} on ${this.protocol}: missing ${missing().join(', ')}`,
    );
  }

  async nextMessage(timeoutMs = EVENT_WAIT_MS): Promise<MsgData> {
    const index = this.messages.length;
    await this.until(
      () => this.messages.length > index,
      timeoutMs,
      `the next message on ${this.protocol}`,
    );
    return this.messages[index] as MsgData;
  }
}
