/** One revocation: tokens of `session` (one `platform`, or every one when null) issued at or before `revokedBefore`. */
export interface Revocation {
  readonly session: string;
  readonly platform: number | null;
  /** Unix seconds: a token whose `iat` is at or before it is refused. */
  readonly revokedBefore: number;
}

/**
 * Revoked tokens, kept across restarts and shared by every node. Nodes read them all at start
 * and hear of new ones on the bus, so no request reads this store. Times in Unix seconds.
 */
export interface RevocationStore {
  /**
   * Revokes the tokens of (`session`, `platform`; null: every platform) issued at or before
   * `revokedBefore`. A revocation never moves back: resolves with the stored time, the later of
   * this one and any earlier one for the same key.
   */
  revoke(session: string, platform: number | null, revokedBefore: number): Promise<number>;

  /** Every revocation with `revokedBefore >= sinceSec`, in no particular order. */
  revocationsSince(sinceSec: number): Promise<Revocation[]>;

  /**
   * Deletes revocations with `revokedBefore` strictly before `beforeSec` (every token they
   * name has expired); resolves with how many.
   */
  deleteRevocationsBefore(beforeSec: number): Promise<number>;
}
