import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { busContract } from '../../test/contracts/bus.contract.js';
import { natsUnavailable, startNats } from '../../test/helpers/nats.js';
import type { NatsServer } from '../../test/helpers/nats.js';
import { skipReason } from '../../test/helpers/processes.js';
import { UnavailableError } from '../domain/errors.js';
import { NatsBus } from './nats-bus.js';
import type { BusEvent } from './bus.js';

describe('NatsBus', { skip: skipReason(natsUnavailable()) }, () => {
  let server: NatsServer;
  before(async () => {
    server = await startNats();
  });
  after(async () => {
    await server?.stop();
  });

  busContract('NatsBus', async () => {
    const a = await NatsBus.open({ url: server.url });
    const b = await NatsBus.open({ url: server.url });
    return {
      a,
      b,
      routes: true,
      cleanup: async () => void (await Promise.all([a.close(), b.close()])),
    };
  });

  it('rejects a publish with UnavailableError while NATS is down, and routes again after', async () => {
    const [aState, bState] = [availability(), availability()];
    const a = await NatsBus.open({ url: server.url, onAvailability: aState.report });
    const b = await NatsBus.open({ url: server.url, onAvailability: bState.report });
    try {
      await b.follow('c-down');
      const lost = aState.next(false);
      await server.stop();
      await lost;
      const event: BusEvent = {
        type: 'message',
        conversationId: 'c-down',
        msgId: 'm1',
        prevMsgId: null,
        frame: '{}',
      };
      await assert.rejects(a.publish(event), UnavailableError);
      const back = Promise.all([aState.next(true), bState.next(true)]);
      await server.start();
      await back;
      const heard = new Promise<BusEvent>((r) => b.subscribe(r));
      // nats.js re-sends b's interest on reconnect; a follow's round trip shows it in effect.
      await b.follow('c-down');
      await a.publish(event);
      assert.deepEqual(await heard, event);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

/** A bus's availability reports, awaited one change at a time. */
function availability(): { report: (up: boolean) => void; next: (up: boolean) => Promise<void> } {
  const waiting = new Map<boolean, () => void>();
  return {
    report: (up) => waiting.get(up)?.(),
    next: (up) => new Promise<void>((r) => waiting.set(up, r)),
  };
}
