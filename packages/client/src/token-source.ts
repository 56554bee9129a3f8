import { ErrorCode, HttpStatus, QuickImError } from './errors.js';

/**
 * The token every request and push connection uses, and its renewal through the caller's
 * `getToken`. Concurrent renewals share one `getToken` call, so a burst of 401s asks once.
 */
export class TokenSource {
  private token: string | undefined;
  private pending: Promise<string> | null = null;

  constructor(
    token: string | undefined,
    private readonly getToken: (() => Promise<string>) | undefined,
  ) {
    this.token = token;
  }

  /** Whether a rejected token can be replaced. */
  get canRenew(): boolean {
    return this.getToken !== undefined;
  }

  /** The token to use now; asks `getToken` when there is none yet. */
  current(): Promise<string> {
    if (this.pending !== null) return this.pending;
    if (this.token !== undefined) return Promise.resolve(this.token);
    return this.fetchToken();
  }

  /**
   * A token to use instead of `rejected`. If the token already changed since `rejected` was
   * handed out, that newer one is returned without asking again. Rejects with QuickImError
   * 10101 when there is no `getToken` or it fails (the cause attached).
   */
  renew(rejected: string): Promise<string> {
    if (this.pending !== null) return this.pending;
    if (this.token !== undefined && this.token !== rejected) return Promise.resolve(this.token);
    return this.fetchToken();
  }

  private fetchToken(): Promise<string> {
    const getToken = this.getToken;
    if (getToken === undefined) {
      return Promise.reject(
        new QuickImError(ErrorCode.Unauthorized, HttpStatus.Unauthorized, 'token rejected'),
      );
    }
    const pending = (async () => {
      try {
        const token = await getToken();
        if (typeof token !== 'string' || token === '')
          throw new TypeError('getToken gave no token');
        this.token = token;
        return token;
      } catch (cause) {
        throw new QuickImError(ErrorCode.Unauthorized, 0, 'getToken failed', { cause });
      } finally {
        this.pending = null;
      }
    })();
    this.pending = pending;
    return pending;
  }
}
