import { MAX_SESSION_ID_BYTES } from '../../domain/conversation.js';
import { ErrorCode, ImError } from '../../domain/errors.js';

/** Session ids are non-empty and at most 128 bytes of UTF-8 (the schema bounds characters). */
export function assertSessionIds(sessions: readonly string[]): void {
  for (const s of sessions) {
    if (s.length === 0 || Buffer.byteLength(s, 'utf8') > MAX_SESSION_ID_BYTES) {
      throw new ImError(
        ErrorCode.InvalidParameter,
        `session ids must be 1..${MAX_SESSION_ID_BYTES} bytes of UTF-8`,
      );
    }
  }
}
