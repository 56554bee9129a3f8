import assert from 'node:assert/strict';
import { systemClock } from '../../src/domain/clock.js';
import { TokenService, loadOrCreateKey } from '../../src/services/token-service.js';
import type { MsgData, PushClient } from './push-clients.js';
import type { TestServer } from './server.js';
import { waitFor } from './wait.js';

/** Sends one message through `/send_msg`; resolves with its MsgID. */
export async function sendMsg(
  server: TestServer,
  token: string,
  conversationId: string,
  content: string,
  type = 1,
  status = 0,
): Promise<string> {
  const res = await server.post(
    '/send_msg',
    { conversation_id: conversationId, status, type, content },
    token,
  );
  assert.equal(res.status, 200, `send_msg: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.MsgID as string;
}

/** Every stored message of a conversation, oldest first (at most 1,000). */
export async function history(
  server: TestServer,
  token: string,
  conversationId: string,
): Promise<MsgData[]> {
  const res = await server.post(
    '/get_conversation_msg_by_range',
    {
      conversation_id: conversationId,
      start_msg_id: '22222-2222-2222-222',
      end_msg_id: 'ZZZZZ-ZZZZ-ZZZZ-ZZZ',
      desc: false,
    },
    token,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.Msg as MsgData[];
}

/** Asserts `messages` hold exactly `expected` ids, each once, in order per conversation. */
export function assertDeliveredOnce(
  messages: readonly MsgData[],
  expected: readonly string[],
  label: string,
): void {
  const ids = messages.map((m) => m.MsgId);
  assert.equal(new Set(ids).size, ids.length, `${label}: a message was delivered twice`);
  assert.deepEqual([...ids].sort(), [...expected].sort(), `${label}: delivered set`);
  const lastByConversation = new Map<string, string>();
  for (const m of messages) {
    const last = lastByConversation.get(m.ConversationID);
    assert.ok(last === undefined || last < m.MsgId, `${label}: ${m.MsgId} came after ${last}`);
    lastByConversation.set(m.ConversationID, m.MsgId);
  }
}

/**
 * Signs tokens in-process with the server's key, for tests that need hundreds of them
 * (`/inner/get_token` issues the same tokens, one HTTP round trip each).
 */
export function tokenMinter(
  server: TestServer,
): (session: string, platform?: number) => Promise<string> {
  const service = new TokenService(
    loadOrCreateKey(server.settings.jwtKey, server.dataDir),
    server.settings.tokenTtlSec,
    systemClock,
  );
  return (session, platform = 1) => service.issue(session, platform);
}

/**
 * Marks a point in each session's push stream: sends a marker into a conversation of the
 * session and a fencer and waits until every given client has it. On one node the Hub delivers
 * in bus order, so everything pushed to those clients before the marker has then arrived.
 */
export class Fencer {
  private readonly conversations = new Map<string, string>();
  private readonly markers = new Set<string>();
  private token: string | undefined;

  constructor(
    private readonly server: TestServer,
    private readonly fencer = 'fencer',
  ) {}

  /** Creates the session's fence conversation (call before its clients connect). */
  async prepare(session: string): Promise<string> {
    this.token ??= await this.server.token(this.fencer);
    let conversationId = this.conversations.get(session);
    if (conversationId === undefined) {
      conversationId = await this.server.createConversation([session, this.fencer]);
      this.conversations.set(session, conversationId);
    }
    return conversationId;
  }

  /** Resolves with the marker's id once every client in `clients` has received it. */
  async pass(session: string, clients: readonly PushClient[], timeoutMs = 5000): Promise<string> {
    const conversationId = await this.prepare(session);
    this.token ??= await this.server.token(this.fencer);
    const id = await sendMsg(this.server, this.token, conversationId, 'fence');
    this.markers.add(id);
    await Promise.all(clients.map((c) => c.waitForIds([id], timeoutMs, `fence of ${session}`)));
    return id;
  }

  /** `messages` without the markers. */
  strip(messages: readonly MsgData[]): MsgData[] {
    return messages.filter((m) => !this.markers.has(m.MsgId));
  }
}

/** Whether a long-poll request of (session, platform) is waiting inside the server's Hub. */
export function isPollWaiting(server: TestServer, session: string, platform: number): boolean {
  return (server.app.hub.find(session, platform)?.wire.capacity() ?? 0) > 0;
}

/** Whether the server keeps the place of (session, platform) with no request waiting on it. */
function isPollIdle(server: TestServer, session: string, platform: number): boolean {
  return server.app.hub.find(session, platform)?.wire.capacity() === 0;
}

/**
 * Resolves once a long-poll of (session, platform) waits inside the server (or, with
 * `waiting` false, once its place is kept with no request waiting). No event tells the
 * client that its request has reached the Hub, so this is a `waitFor` fallback: the one
 * place tests watch that state.
 */
export function pollWaits(
  server: TestServer,
  session: string,
  platform: number,
  what: string,
  waiting = true,
  timeoutMs = 5000,
): Promise<void> {
  return waitFor(
    () => (waiting ? isPollWaiting : isPollIdle)(server, session, platform),
    timeoutMs,
    what,
  );
}
