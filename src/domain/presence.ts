/**
 * Who is online, cluster-wide: a session is online while it has a ws or sse connection, or a
 * long-poll outstanding or answered within the last 60 s, on any node (docs/api.md,
 * POST /inner/get_presence). Answers from memory: at most ~2 s behind other nodes.
 */
export interface PresenceReader {
  /** Platforms of `session` connected anywhere, ascending; empty when it is offline. */
  platformsOf(session: string): readonly number[];
}
