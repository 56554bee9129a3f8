import assert from 'node:assert/strict';
import { pino } from 'pino';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { Message } from '../../src/domain/message.js';
import { MsgIdAllocator } from '../../src/domain/msg-id.js';
import { CloseReason } from '../../src/realtime/close-reasons.js';
import type { Frame } from '../../src/realtime/frame.js';
import { Hub } from '../../src/realtime/hub.js';
import type { HubStore } from '../../src/realtime/hub.js';
import type { OverflowPolicy, PushGrant, Wire } from '../../src/realtime/wire.js';
import { ConversationService } from '../../src/services/conversation-service.js';
import { MessageService } from '../../src/services/message-service.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Bus, BusEvent, BusHandler } from '../../src/bus/bus.js';
import { ManualClock } from './manual-clock.js';
import { Changes } from './wait.js';

// A Hub over an in-memory SQLite store and the memory bus, with wires that record what they get.

/** A wire that records what it is given; `room` is its capacity, used up by writes (Infinity: always ready). */
export class FakeWire implements Wire {
  readonly protocol = 'ws' as const;
  readonly written: Frame[] = [];
  closedWith: CloseReason | null = null;
  private readonly writes = new Changes();
  alive = true;

  constructor(
    readonly overflow: OverflowPolicy = 'close',
    public room = Infinity,
  ) {}

  get ids(): string[] {
    return this.written.map((f) => f.msgId);
  }

  capacity(): number {
    return this.closedWith === null ? Math.min(this.room, 1000) : 0;
  }

  write(frames: readonly Frame[]): void {
    this.written.push(...frames);
    this.room -= frames.length;
    this.writes.notify();
  }

  /** Resolves once `n` frames have been written. */
  wrote(n: number): Promise<void> {
    return this.writes.until(() => this.written.length >= n, 5000, `${n} frames`);
  }

  tick(): boolean {
    return this.alive;
  }

  close(reason: CloseReason): void {
    this.closedWith ??= reason;
  }
}

/** A fault the test injected; the services report it and go on. */
export class InjectedFault extends Error {}

/** The in-process bus, with faults injected on request: lost events and failed publishes. */
export class FaultyBus implements Bus {
  private readonly inner = new MemoryBus();
  private dropping = 0;
  private rejecting = 0;

  /** The next `n` publishes resolve, but no subscriber sees them. */
  drop(n: number): void {
    this.dropping = n;
  }

  /** The next `n` publishes reject. */
  reject(n: number): void {
    this.rejecting = n;
  }

  publish(event: BusEvent): Promise<void> {
    if (this.rejecting > 0) {
      this.rejecting--;
      return Promise.reject(new InjectedFault('bus unavailable'));
    }
    if (this.dropping > 0) {
      this.dropping--;
      return Promise.resolve();
    }
    return this.inner.publish(event);
  }

  subscribe(handler: BusHandler): () => void {
    return this.inner.subscribe(handler);
  }

  follow(conversationId: string): Promise<void> {
    return this.inner.follow(conversationId);
  }

  unfollow(conversationId: string): void {
    this.inner.unfollow(conversationId);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface Fixture {
  readonly hub: Hub;
  readonly bus: FaultyBus;
  readonly clock: ManualClock;
  readonly conversations: ConversationService;
  /** Stores a message and announces it on the bus; resolves once the Hub has routed it. */
  send(conversationId: string, from: string, content?: string): Promise<Message>;
  attach(session: string, wire: Wire, lastMsgId?: string | null, platform?: number): Promise<void>;
}

export interface FixtureOptions {
  readonly queueMaxMessages?: number;
  readonly queueMaxBytes?: number;
  readonly maxConnections?: number;
  /** Wraps the store reads the Hub makes, to act in the middle of one. */
  readonly hubStore?: (store: SqliteStore) => HubStore;
}

const open: { store: SqliteStore; hub: Hub }[] = [];

/** Closes every fixture's Hub and store: each test file runs it after each test. */
export async function closeFixtures(): Promise<void> {
  for (const { store, hub } of open.splice(0)) {
    hub.closeAll(CloseReason.GoingAway);
    await store.close();
  }
}

export function fixture(options: FixtureOptions = {}): Fixture {
  const ids = new MsgIdAllocator(1);
  const store = new SqliteStore(':memory:', { allocator: (last) => ids.next(last) });
  const bus = new FaultyBus();
  const clock = new ManualClock();
  const fail = (err: unknown): void => {
    if (!(err instanceof InjectedFault)) assert.fail(err as Error);
  };
  const conversations = new ConversationService(store, bus, fail, undefined, (event) =>
    hub.applyHere(event),
  );
  const messages = new MessageService(store, bus, conversations, 4096, fail);
  const hub = new Hub({
    store: options.hubStore?.(store) ?? store,
    bus,
    clock,
    logger: pino({ level: 'silent' }),
    nodeId: 'n1',
    queueMaxMessages: options.queueMaxMessages ?? 100,
    queueMaxBytes: options.queueMaxBytes ?? 1 << 20,
    maxConnections: options.maxConnections ?? 1000,
    replayLimit: 1000,
  });
  open.push({ store, hub });
  return {
    hub,
    bus,
    clock,
    conversations,
    send: (conversationId, from, content = 'hi') =>
      messages.send(from, { conversationId, status: 0, type: 0, content }),
    async attach(session, wire, lastMsgId = null, platform = 1) {
      const grant: PushGrant = {
        session,
        platform,
        lastMsgId,
        expiresAtMs: clock.now() + 3_600_000,
        issuedAtSec: Math.floor(clock.now() / 1000),
        events: false,
      };
      await hub.attach(wire, grant);
    },
  };
}
