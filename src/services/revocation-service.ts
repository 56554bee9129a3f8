import type { Bus, BusEvent, RevokedEvent } from '../bus/bus.js';
import type { Clock } from '../domain/clock.js';
import { UnavailableError } from '../domain/errors.js';
import type { Revocation, RevocationStore } from '../store/revocations.js';
import type { RevocationCheck, TokenClaims } from './token-service.js';

/** The key of a revocation of every platform of a session. */
const EVERY_PLATFORM = -1;

export interface RevocationServiceOptions {
  readonly store: RevocationStore;
  readonly bus: Bus;
  /** The clock tokens are issued by. */
  readonly clock: Clock;
  /** Tokens live this long: a revocation older than that names only expired tokens. */
  readonly tokenTtlSec: number;
  readonly onBusError: (err: unknown) => void;
}

/**
 * `/inner/revoke_session` and the check every token passes. Every revocation still younger
 * than the token TTL is held in memory on every node: loaded from the store at start (and
 * again when the bus comes back, in case an event was missed), kept current by `revoked`
 * bus events. A request costs one Map lookup, never a store read.
 */
export class RevocationService implements RevocationCheck {
  /** Per session: per platform (`EVERY_PLATFORM` for all), the latest `revokedBefore`. */
  private readonly bySession = new Map<string, Map<number, number>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: RevocationServiceOptions) {}

  /** Listens to the bus, then loads what the store holds; rejects if the store fails. */
  async start(): Promise<void> {
    this.unsubscribe ??= this.o.bus.subscribe((event: BusEvent) => {
      if (event.type === 'revoked') this.apply(event);
    });
    await this.reload();
  }

  /** Reads every revocation not yet past the token TTL from the store (idempotent). */
  async reload(): Promise<void> {
    for (const r of await this.o.store.revocationsSince(this.oldestLiveSec())) this.apply(r);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  isRevoked(claims: TokenClaims): boolean {
    const platforms = this.bySession.get(claims.session);
    if (platforms === undefined) return false;
    const before = Math.max(
      platforms.get(EVERY_PLATFORM) ?? -Infinity,
      platforms.get(claims.platform) ?? -Infinity,
    );
    return claims.issuedAt <= before;
  }

  /**
   * Refuses every token of `session` (of `platform` only, when given) issued up to this second,
   * on this node at once and on every other node once the bus has carried it; resolves with
   * that second. Stored first: if the bus then fails, it rejects with `UnavailableError` (a
   * retry revokes again, a second later at most), and other nodes learn it at their next
   * reload.
   */
  async revoke(session: string, platform: number | null): Promise<number> {
    const nowSec = Math.floor(this.o.clock.now() / 1000);
    const revokedBefore = await this.o.store.revoke(session, platform, nowSec);
    this.apply({ session, platform, revokedBefore });
    try {
      await this.o.bus.publish({ type: 'revoked', session, platform, revokedBefore });
    } catch (err) {
      this.o.onBusError(err);
      throw new UnavailableError('revocation stored, but other nodes could not be told; retry');
    }
    return revokedBefore;
  }

  /** Forgets revocations that name only expired tokens, here and in the store. */
  async sweep(): Promise<void> {
    const oldest = this.oldestLiveSec();
    for (const [session, platforms] of this.bySession) {
      for (const [platform, before] of platforms) if (before < oldest) platforms.delete(platform);
      if (platforms.size === 0) this.bySession.delete(session);
    }
    await this.o.store.deleteRevocationsBefore(oldest);
  }

  /** Revocations before this second name only tokens that have expired. */
  private oldestLiveSec(): number {
    return Math.floor(this.o.clock.now() / 1000) - this.o.tokenTtlSec;
  }

  private apply(r: Revocation | RevokedEvent): void {
    let platforms = this.bySession.get(r.session);
    if (platforms === undefined) this.bySession.set(r.session, (platforms = new Map()));
    const key = r.platform ?? EVERY_PLATFORM;
    platforms.set(key, Math.max(platforms.get(key) ?? -Infinity, r.revokedBefore));
  }
}
