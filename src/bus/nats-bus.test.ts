import { after, before, describe } from 'node:test';
import { busContract } from '../../test/contracts/bus.contract.js';
import { natsUnavailable, startNats } from '../../test/helpers/nats.js';
import type { NatsServer } from '../../test/helpers/nats.js';
import { skipReason } from '../../test/helpers/processes.js';
import { NatsBus } from './nats-bus.js';

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
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  });
});
