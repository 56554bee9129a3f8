import { PollClient } from './poll-client.js';
import type { NotifyParams, Protocol, PushClient } from './push-inbox.js';
import { notifyUrl } from './push-inbox.js';
import type { TestServer } from './server.js';
import { SseClient } from './sse-client.js';
import { WsClient } from './ws-client.js';

// One import for tests: the three push clients and what they share.
export * from './push-inbox.js';
export * from './ws-client.js';
export * from './sse-client.js';
export * from './poll-client.js';

/** Opens a push connection of `protocol`; resolves once the server holds it. */
export async function openPush(
  server: TestServer,
  protocol: Protocol,
  token: string,
  params: NotifyParams = {},
): Promise<PushClient> {
  switch (protocol) {
    case 'ws':
      return WsClient.open(notifyUrl(server, 'ws', { token, ...params }));
    case 'sse':
      return SseClient.open(notifyUrl(server, 'sse', { token, ...params }));
    case 'poll':
      return PollClient.open(server, token, params);
  }
}

/** Closes every client, ignoring failures of clients that are already gone. */
export async function closeAll(clients: Iterable<PushClient>): Promise<void> {
  await Promise.all([...clients].map((c) => c.close().catch(() => {})));
}
