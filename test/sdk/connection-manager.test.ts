import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionManager } from '../../packages/client/src/connection-manager.js';
import { Emitter } from '../../packages/client/src/emitter.js';
import { TokenSource } from '../../packages/client/src/token-source.js';
import type {
  ConnectParams,
  PushConnection,
  PushHandlers,
  PushTransport,
} from '../../packages/client/src/transports/transport.js';
import type { ClientEvents, MsgData, Transport } from '../../packages/client/src/types.js';
import { Changes } from '../helpers/wait.js';
import { TEST_TIMEOUT_MS } from './sdk-helpers.js';

/**
 * A transport the test drives by hand. Only for what one real node never does: send a MsgId
 * twice, or an id lower than one already delivered. Everything else is tested against the
 * real server.
 */
class HandDriven implements PushTransport {
  readonly connects: ConnectParams[] = [];
  handlers: PushHandlers | null = null;

  constructor(readonly name: Transport) {}

  connect(params: ConnectParams, handlers: PushHandlers): PushConnection {
    this.connects.push(params);
    this.handlers = handlers;
    queueMicrotask(() => handlers.onOpen());
    return { close: () => (this.handlers = null) };
  }

  push(...messages: MsgData[]): void {
    for (const m of messages) this.handlers?.onMessage(m);
  }
}

const msg = (id: string, conversation: string): MsgData => ({
  MsgId: id,
  ConversationID: conversation,
  FromSession: 'alice',
  SendTime: 0,
  Status: 0,
  Type: 0,
  Content: id,
});

function manager(transport: PushTransport, lastMsgId: string | null = null) {
  const events = new Emitter<ClientEvents>();
  const delivered: string[] = [];
  events.on('message', (m) => delivered.push(m.MsgId));
  const push = new ConnectionManager({
    baseUrl: 'http://unused',
    transports: [transport],
    tokens: new TokenSource('t', undefined),
    reconnect: { initialDelayMs: 1, maxDelayMs: 2 },
    connectTimeoutMs: 1000,
    lastMsgId,
    pushEvents: false,
    events,
  });
  return { push, delivered, events };
}

describe('ConnectionManager de-duplication', () => {
  it(
    'delivers each MsgId once across reconnects, and ids lower than lastMsgId too',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const t = new HandDriven('sse');
      const { push, delivered, events } = manager(t);
      await push.connect();
      assert.equal(t.connects[0]?.lastMsgId, null);
      // Two conversations: ids are ordered within each only.
      t.push(msg('BBBBB-2222-2222-222', 'c1'), msg('AAAAA-2222-2222-222', 'c2'));
      t.push(msg('BBBBB-2222-2222-222', 'c1'));
      assert.deepEqual(delivered, ['BBBBB-2222-2222-222', 'AAAAA-2222-2222-222']);
      assert.equal(push.lastMsgId, 'BBBBB-2222-2222-222');

      t.handlers?.onEnd({ kind: 'retry', reason: 'network' });
      const changes = new Changes();
      const off = events.on('state', () => changes.notify());
      await changes
        .until(() => t.connects.length === 2 && push.state === 'connected', 2000, 'reconnect')
        .finally(off);
      assert.equal(t.connects[1]?.lastMsgId, 'BBBBB-2222-2222-222', 'resumes from the greatest id');
      // A replay overlapping what was delivered live.
      t.push(msg('AAAAA-2222-2222-222', 'c2'), msg('BBBBB-2222-2222-222', 'c1'));
      t.push(msg('CCCCC-2222-2222-222', 'c1'), msg('AAAAA-3333-2222-222', 'c2'));
      assert.deepEqual(delivered, [
        'BBBBB-2222-2222-222',
        'AAAAA-2222-2222-222',
        'CCCCC-2222-2222-222',
        'AAAAA-3333-2222-222',
      ]);
      assert.equal(push.lastMsgId, 'CCCCC-2222-2222-222');
      push.close();
    },
  );

  it('starts from the lastMsgId option', { timeout: TEST_TIMEOUT_MS }, async () => {
    const t = new HandDriven('poll');
    const { push } = manager(t, 'DDDDD-2222-2222-222');
    await push.connect();
    assert.equal(t.connects[0]?.lastMsgId, 'DDDDD-2222-2222-222');
    assert.equal(push.lastMsgId, 'DDDDD-2222-2222-222');
    push.close();
  });
});
