import { busContract } from '../../test/contracts/bus.contract.js';
import { MemoryBus } from './memory-bus.js';

busContract('MemoryBus', async () => {
  const bus = new MemoryBus();
  return { a: bus, b: bus, routes: false, cleanup: () => bus.close() };
});
