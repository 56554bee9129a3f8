import { Backoff, delay } from './backoff.js';
import {
  DEFAULT_SEND_RETRIES,
  SEND_RETRY_BACKOFF,
  isSendRetryable,
  newClientMsgId,
} from './client-msg-id.js';
import { ConnectionManager } from './connection-manager.js';
import { Emitter } from './emitter.js';
import type { Listener } from './emitter.js';
import { HttpClient } from './http-client.js';
import { TokenSource } from './token-source.js';
import { PollTransport } from './transports/poll-transport.js';
import { SseTransport } from './transports/sse-transport.js';
import type { PushTransport } from './transports/transport.js';
import { WsTransport } from './transports/ws-transport.js';
import type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  ConversationDetail,
  ConversationList,
  Member,
  MemberPage,
  MsgData,
  Transport,
  WebSocketConstructor,
} from './types.js';

const DEFAULT_POLL_TIMEOUT_SECONDS = 25;
const DEFAULT_POLL_BATCH = 100;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Send retries wait out their backoff even after `close()`: HTTP calls outlive push. */
const NEVER_ABORTED = new AbortController().signal;

/** History reads: `desc: true` sorts newest first; the default is oldest first. */
export interface HistoryOptions {
  desc?: boolean;
}

/**
 * A quick-im client: one typed method per public endpoint, and push (`connect()`) over
 * WebSocket, SSE or long-poll with fallback, reconnect, resume and de-duplication, plus the
 * opt-in `read`, `joined` and `left` events (`events: true`, ws and sse). Runs in
 * browsers and in Node >= 20 with no dependency; in Node 20 pass `WebSocket` from `ws` to
 * use WebSocket. HTTP methods work with or without push and keep working after `close()`.
 */
export class QuickImClient {
  private readonly events = new Emitter<ClientEvents>();
  private readonly http: HttpClient;
  private readonly push: ConnectionManager;
  private readonly sendRetries: number;

  /**
   * Throws TypeError for options that cannot work (no token source, no fetch, 'ws' without
   * WebSocket, `events` with 'poll', a `sendRetries` that is not a whole number >= 0).
   */
  constructor(options: ClientOptions) {
    if (options.token === undefined && options.getToken === undefined) {
      throw new TypeError('QuickImClient needs a token or getToken');
    }
    if (options.events === true && options.transport === 'poll') {
      throw new TypeError("events need 'ws' or 'sse': long-poll carries no events");
    }
    this.sendRetries = options.sendRetries ?? DEFAULT_SEND_RETRIES;
    if (!Number.isInteger(this.sendRetries) || this.sendRetries < 0) {
      throw new TypeError('sendRetries must be a whole number >= 0');
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new TypeError('no fetch: pass the fetch option');
    // Called unbound: a browser's fetch throws "Illegal invocation" when called as a method of another object.
    const callFetch: typeof fetch = (input, init) => fetchImpl(input, init);
    const baseUrl = options.baseUrl.replace(/\/+$/, '');
    const tokens = new TokenSource(options.token, options.getToken);
    this.http = new HttpClient(baseUrl, callFetch, tokens);
    this.push = new ConnectionManager({
      baseUrl,
      transports: pushTransports(options, callFetch, (token, signal) =>
        this.http.isTokenAccepted(token, signal),
      ),
      tokens,
      reconnect: options.reconnect ?? {},
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      lastMsgId: options.lastMsgId ?? null,
      pushEvents: options.events === true,
      events: this.events,
    });
  }

  get state(): ConnectionState {
    return this.push.state;
  }

  /** The transport of the open connection; null while not connected. */
  get transport(): Transport | null {
    return this.push.transport;
  }

  /**
   * The greatest MsgId delivered to 'message' listeners (string order), starting from the
   * `lastMsgId` option; the next (re)connect resumes after it. Null before any.
   */
  get lastMsgId(): string | null {
    return this.push.lastMsgId;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof ClientEvents>(event: K, fn: Listener<ClientEvents[K]>): () => void {
    return this.events.on(event, fn);
  }

  /**
   * Starts push and resolves once a connection is open. Retryable failures (network, server
   * restarting) are retried until it opens; it rejects with QuickImError only for a failure
   * retrying cannot fix: 10101 with no `getToken`, 10009 if replaced first, a 4xx such as 10001
   * for a malformed `lastMsgId`, or `ErrorCode.Closed` when `close()` comes first.
   */
  connect(): Promise<void> {
    return this.push.connect();
  }

  /** Stops push: closes the connection, aborts its requests, cancels every timer. State 'closed'. */
  close(): void {
    this.push.close();
  }

  /**
   * Sends a message; resolves with its MsgId. `type` and `status` default to 0. Every send
   * carries a `client_msg_id` (a new random one unless `clientMsgId` is given: 1..64
   * characters `!`..`~`), so a send that got no answer or a 503 is repeated (`sendRetries`
   * times) without storing the message twice; a repeat within 24 hours answers the first
   * one's MsgId. Pass your own `clientMsgId` to make your own retries (say, after a page
   * reload) just as safe.
   */
  async sendMessage(p: {
    conversationId: string;
    content: string;
    type?: number;
    status?: number;
    clientMsgId?: string;
  }): Promise<string> {
    const body = {
      conversation_id: p.conversationId,
      status: p.status ?? 0,
      type: p.type ?? 0,
      content: p.content,
      client_msg_id: p.clientMsgId ?? newClientMsgId(),
    };
    const backoff = new Backoff(SEND_RETRY_BACKOFF);
    for (let attempt = 0; ; attempt++) {
      try {
        const data = await this.http.post<{ MsgID: string }>('/send_msg', body);
        return data.MsgID;
      } catch (err) {
        if (attempt >= this.sendRetries || !isSendRetryable(err)) throw err;
        await delay(backoff.next(), NEVER_ABORTED);
      }
    }
  }

  /**
   * Moves the caller's read cursor to `msgId` (never back, never past the newest message);
   * resolves with the cursor after the call, null in a conversation without messages. Members
   * connected with `events: true` get a `read` event when it moved.
   */
  async markRead(conversationId: string, msgId: string): Promise<string | null> {
    const data = await this.http.post<{ ReadMsgId: string | null }>('/mark_read', {
      conversation_id: conversationId,
      msg_id: msgId,
    });
    return data.ReadMsgId;
  }

  /** Every conversation of the caller with its read cursor and unread count, newest first. */
  conversationList(): Promise<ConversationList> {
    return this.http.post<ConversationList>('/get_conversation_list', {});
  }

  /** One page of up to 500 current members, in byte order of session, strictly after `after`. */
  conversationMembers(conversationId: string, after?: string): Promise<MemberPage> {
    const body = after === undefined ? {} : { after };
    return this.http.post<MemberPage>('/get_conversation_members', {
      conversation_id: conversationId,
      ...body,
    });
  }

  /** Every current member, page after page (each page one request, made as the loop needs it). */
  async *allConversationMembers(conversationId: string): AsyncGenerator<Member, void, undefined> {
    let after: string | undefined;
    do {
      const page = await this.conversationMembers(conversationId, after);
      yield* page.Members;
      after = page.Next ?? undefined;
    } while (after !== undefined);
  }

  /** Creates a conversation with the caller and `sessions` as members; resolves with its id. */
  async createConversation(p: { type: number; sessions?: string[] }): Promise<string> {
    const body = p.sessions === undefined ? {} : { sessions: p.sessions };
    const data = await this.http.post<{ ConversationId: string }>('/create_conversation', {
      conversation_type: p.type,
      ...body,
    });
    return data.ConversationId;
  }

  /** Joins (idempotent). */
  async joinConversation(conversationId: string): Promise<void> {
    await this.http.post('/join_conversation', { conversation_id: conversationId });
  }

  /** Leaves; leaving a conversation one is not in succeeds. */
  async leaveConversation(conversationId: string): Promise<void> {
    await this.http.post('/leave_conversation', { conversation_id: conversationId });
  }

  /** Whether the caller is a current member; false for an unknown conversation. */
  async isJoined(conversationId: string): Promise<boolean> {
    const data = await this.http.post<{ Joined: boolean }>('/check_joined_conversation', {
      conversation_id: conversationId,
    });
    return data.Joined;
  }

  /** The ids of the caller's conversations. */
  async getJoinedConversations(): Promise<string[]> {
    const data = await this.http.post<{ Conversations: string[] }>('/get_joined_conversation', {});
    return data.Conversations;
  }

  async getConversationDetail(conversationId: string): Promise<ConversationDetail> {
    return this.http.post<ConversationDetail>('/get_conversation_detail', {
      conversation_id: conversationId,
    });
  }

  /** The newest MsgId of the conversation, or null if it has none. */
  async getLastMsgId(conversationId: string): Promise<string | null> {
    const data = await this.http.post<{ MsgId: string | null }>('/get_lastone_msgid', {
      conversation_id: conversationId,
    });
    return data.MsgId;
  }

  /** The newest message, or null if there is none. */
  async getLastMessage(conversationId: string): Promise<MsgData | null> {
    const msgs = await this.history('/get_conversation_lastone_msg', conversationId, {});
    return msgs[0] ?? null;
  }

  /** The newest 30 messages. */
  getLastMessages(conversationId: string, opts: HistoryOptions = {}): Promise<MsgData[]> {
    return this.history('/get_conversation_last_30_msg', conversationId, opts);
  }

  /** The 30 messages nearest before `msgId` (which need not exist), excluding it. */
  getMessagesBefore(
    conversationId: string,
    msgId: string,
    opts: HistoryOptions = {},
  ): Promise<MsgData[]> {
    return this.history('/get_conversation_30msg_before_the_id', conversationId, opts, {
      msg_id: msgId,
    });
  }

  /** The 30 messages nearest after `msgId` (which need not exist), excluding it. */
  getMessagesAfter(
    conversationId: string,
    msgId: string,
    opts: HistoryOptions = {},
  ): Promise<MsgData[]> {
    return this.history('/get_conversation_30msg_after_the_id', conversationId, opts, {
      msg_id: msgId,
    });
  }

  /** Messages from `startMsgId` to `endMsgId`, both included; at most 1000. */
  getMessagesByRange(
    conversationId: string,
    startMsgId: string,
    endMsgId: string,
    opts: HistoryOptions = {},
  ): Promise<MsgData[]> {
    return this.history('/get_conversation_msg_by_range', conversationId, opts, {
      start_msg_id: startMsgId,
      end_msg_id: endMsgId,
    });
  }

  private async history(
    path: string,
    conversationId: string,
    opts: HistoryOptions,
    extra: Record<string, string> = {},
  ): Promise<MsgData[]> {
    const data = await this.http.post<{ Msg: MsgData[] }>(path, {
      conversation_id: conversationId,
      desc: opts.desc === true,
      ...extra,
    });
    return data.Msg;
  }
}

/**
 * The transports push tries, in order. With 'auto', a ws handshake refused for a bad token
 * looks like any failure and sse, next, reveals the 401; with 'ws' alone, `checkToken` asks.
 */
function pushTransports(
  options: ClientOptions,
  callFetch: typeof fetch,
  checkToken: (token: string, signal: AbortSignal) => Promise<boolean | null>,
): PushTransport[] {
  const WebSocketImpl: WebSocketConstructor | undefined =
    options.WebSocket ??
    (typeof globalThis.WebSocket === 'function' ? globalThis.WebSocket : undefined);
  const choice = options.transport ?? 'auto';
  const events = options.events === true;
  const ws =
    WebSocketImpl === undefined
      ? null
      : new WsTransport(WebSocketImpl, choice === 'ws' ? checkToken : undefined);
  const sse = new SseTransport(callFetch);
  const poll = new PollTransport(callFetch, {
    timeoutSeconds: options.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT_SECONDS,
    batch: options.pollBatch ?? DEFAULT_POLL_BATCH,
  });
  switch (choice) {
    case 'auto': {
      // Long-poll carries no events: a client that asked for them does not fall back to it.
      const last = events ? [] : [poll];
      return ws === null ? [sse, ...last] : [ws, sse, ...last];
    }
    case 'ws':
      if (ws === null)
        throw new TypeError("transport 'ws' needs a WebSocket: pass the WebSocket option");
      return [ws];
    case 'sse':
      return [sse];
    case 'poll':
      return [poll];
  }
}
