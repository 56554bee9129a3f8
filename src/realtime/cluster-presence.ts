import type { FastifyBaseLogger } from 'fastify';
import type { Bus, BusEvent, PresenceEvent } from '../bus/bus.js';
import type { Clock, Timer } from '../domain/clock.js';
import type { PresenceReader } from '../domain/presence.js';
import type { Hub } from './hub.js';

/** How often a node announces everything it holds. */
export const PRESENCE_SNAPSHOT_MS = 10_000;
/**
 * How long other nodes trust a node's announcements without hearing from it: two snapshots
 * and a half, so one lost snapshot is survived and a dead node's sessions are gone in < 30 s.
 */
export const PRESENCE_TTL_MS = 25_000;
/** Sessions per snapshot part: a part stays far below NATS's default 1 MB payload limit. */
const SESSIONS_PER_PART = 2_000;

export interface ClusterPresenceOptions {
  /** This node's connections: exact and immediate for sessions connected here. */
  readonly hub: Pick<Hub, 'platformsOf' | 'presence'>;
  readonly bus: Bus;
  /** Times the snapshots and judges expiry. */
  readonly clock: Clock;
  /** This node's id, as the Hub names it in its `connected` / `disconnected` events. */
  readonly nodeId: string;
  readonly logger: FastifyBaseLogger;
  readonly snapshotMs?: number;
  readonly ttlMs?: number;
}

/** What this node knows of another node's connections. */
interface RemoteNode {
  /** Platforms per session connected there. */
  sessions: Map<string, Set<number>>;
  /** A snapshot being received part by part; replaces `sessions` at its last part. */
  staging: Map<string, Set<number>> | null;
  /** Forgotten after this (clock ms) unless the node is heard from again. */
  expiresAt: number;
}

/**
 * Cluster-wide presence from announcements on the bus, no store involved. Each node's Hub
 * announces every (session, platform) it starts holding (`connected`, which replacement
 * fencing sends anyway) and stops holding (`disconnected`); every `snapshotMs` each node also
 * announces its whole set (`presence`), which replaces what others knew of it and keeps it
 * alive there for `ttlMs`. So a connect or disconnect anywhere shows within a bus hop, a node
 * that starts learns the others' sets from the snapshots its own first one prompts, an event
 * lost while the bus was down is repaired by the next snapshot, and a node that died silently
 * drops out after `ttlMs`. Cost per connection: two small bus events in its life, and its
 * session id in its node's snapshot every `snapshotMs` (about 30 bytes).
 */
export class ClusterPresence implements PresenceReader {
  private readonly nodes = new Map<string, RemoteNode>();
  private readonly snapshotMs: number;
  private readonly ttlMs: number;
  private unsubscribe: (() => void) | undefined;
  private timer: Timer | null = null;
  /** A snapshot is due at once (a new node was heard): set until it goes out. */
  private early: Timer | null = null;

  constructor(private readonly o: ClusterPresenceOptions) {
    this.snapshotMs = o.snapshotMs ?? PRESENCE_SNAPSHOT_MS;
    this.ttlMs = o.ttlMs ?? PRESENCE_TTL_MS;
  }

  /** Listens to the bus and announces this node's set now and every `snapshotMs`. */
  start(): void {
    this.unsubscribe ??= this.o.bus.subscribe((event) => this.onBusEvent(event));
    this.tick();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    if (this.early) this.o.clock.clearTimeout(this.early);
    this.timer = this.early = null;
  }

  platformsOf(session: string): readonly number[] {
    const local = this.o.hub.platformsOf(session);
    const now = this.o.clock.now();
    let all: Set<number> | undefined;
    for (const node of this.nodes.values()) {
      const remote = node.sessions.get(session);
      if (remote === undefined || node.expiresAt <= now) continue;
      all ??= new Set(local);
      for (const p of remote) all.add(p);
    }
    return all === undefined ? local : [...all].sort((a, b) => a - b);
  }

  /** Announces this node's whole set at once (the bus is back, or a new node appeared). */
  announce(): void {
    const parts: (readonly [string, number[]])[][] = [[]];
    for (const entry of this.o.hub.presence()) {
      let part = parts[parts.length - 1] as (readonly [string, number[]])[];
      if (part.length === SESSIONS_PER_PART) parts.push((part = []));
      part.push(entry);
    }
    // Back to back, in order: no other event of this node comes between two parts.
    parts.forEach((sessions, i) => {
      const event: PresenceEvent = {
        type: 'presence',
        nodeId: this.o.nodeId,
        ttlMs: this.ttlMs,
        part: i,
        last: i === parts.length - 1,
        sessions,
      };
      this.o.bus.publish(event).catch((err: unknown) => {
        this.o.logger.debug({ err: (err as Error).message }, 'presence snapshot not sent');
      });
    });
  }

  /** Announces, forgets nodes not heard from within their TTL, and schedules the next run. */
  private tick(): void {
    this.timer = null;
    this.announce();
    const now = this.o.clock.now();
    for (const [id, node] of this.nodes) if (node.expiresAt <= now) this.nodes.delete(id);
    this.timer = this.o.clock.setTimeout(() => this.tick(), this.snapshotMs);
    this.timer.unref();
  }

  private onBusEvent(event: BusEvent): void {
    switch (event.type) {
      case 'connected':
        if (event.nodeId !== this.o.nodeId) {
          const node = this.heard(event.nodeId);
          add(node.sessions, event.session, event.platform);
          if (node.staging) add(node.staging, event.session, event.platform);
        }
        break;
      case 'disconnected':
        if (event.nodeId !== this.o.nodeId) {
          const node = this.heard(event.nodeId);
          remove(node.sessions, event.session, event.platform);
          if (node.staging) remove(node.staging, event.session, event.platform);
        }
        break;
      case 'presence':
        if (event.nodeId !== this.o.nodeId) this.onSnapshot(event);
        break;
    }
  }

  private onSnapshot(event: PresenceEvent): void {
    const known = this.nodes.has(event.nodeId);
    const node = this.heard(event.nodeId, event.ttlMs);
    if (event.part === 0) node.staging = new Map();
    const staging = node.staging;
    if (staging === null) return; // joined mid-snapshot: wait for the next one
    for (const [session, platforms] of event.sessions) staging.set(session, new Set(platforms));
    if (event.last) {
      node.sessions = staging;
      node.staging = null;
    }
    // A node this one had not heard of (new, or back after a silence) learns our set now
    // rather than at our next snapshot.
    if (!known && this.early === null) {
      this.early = this.o.clock.setTimeout(() => {
        this.early = null;
        this.announce();
      }, 0);
    }
  }

  /** The node's entry, kept alive `ttlMs` from now: any event of a node proves it is alive. */
  private heard(nodeId: string, ttlMs = this.ttlMs): RemoteNode {
    let node = this.nodes.get(nodeId);
    if (node === undefined) {
      node = { sessions: new Map(), staging: null, expiresAt: 0 };
      this.nodes.set(nodeId, node);
    }
    node.expiresAt = this.o.clock.now() + ttlMs;
    return node;
  }
}

function add(sessions: Map<string, Set<number>>, session: string, platform: number): void {
  const platforms = sessions.get(session);
  if (platforms === undefined) sessions.set(session, new Set([platform]));
  else platforms.add(platform);
}

function remove(sessions: Map<string, Set<number>>, session: string, platform: number): void {
  const platforms = sessions.get(session);
  if (platforms === undefined) return;
  platforms.delete(platform);
  if (platforms.size === 0) sessions.delete(session);
}
