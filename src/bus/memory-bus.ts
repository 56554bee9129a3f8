import type { Bus, BusEvent, BusHandler } from './bus.js';

/**
 * The one-node bus: delivers synchronously, in publish order, to every subscriber. The one node
 * hears every conversation, so following is a no-op.
 */
export class MemoryBus implements Bus {
  private readonly handlers = new Set<BusHandler>();
  private closed = false;

  publish(event: BusEvent): Promise<void> {
    if (!this.closed) for (const h of this.handlers) h(event);
    return Promise.resolve();
  }

  subscribe(handler: BusHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  follow(_conversationId: string): Promise<void> {
    return Promise.resolve();
  }

  unfollow(_conversationId: string): void {}

  ping(): Promise<void> {
    return this.closed ? Promise.reject(new Error('bus closed')) : Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    return Promise.resolve();
  }
}
