import { readEnvelope } from './envelope.js';
import { ErrorCode, QuickImError, isTokenRejected } from './errors.js';
import type { TokenSource } from './token-source.js';

/**
 * POSTs JSON to the public endpoints with `Authorization: Bearer <token>` and reads the
 * envelope. A rejected token (401 / 10101) is renewed through the TokenSource and the call
 * retried once; without `getToken` the 10101 error is what the caller gets.
 */
export class HttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch,
    private readonly tokens: TokenSource,
  ) {}

  /** Resolves with the envelope's `data`, typed by the caller after the contract; rejects with QuickImError. */
  async post<T>(path: string, body: object): Promise<T> {
    const token = await this.tokens.current();
    try {
      return (await this.send(path, body, token)) as T;
    } catch (err) {
      if (!isTokenRejected(err) || !this.tokens.canRenew) throw err;
      let renewed: string;
      try {
        renewed = await this.tokens.renew(token);
      } catch (cause) {
        throw new QuickImError(err.code, err.status, `${err.message}; getToken failed`, { cause });
      }
      return (await this.send(path, body, renewed)) as T;
    }
  }

  /**
   * Whether the server accepts `token`: true or false from a cheap authenticated call
   * (`/check_joined_conversation` of a conversation that cannot exist), null when it could not
   * tell (network failure, server error). Lets WebSocket tell a refused token from a dead
   * network, since a browser hides the status of a refused handshake.
   */
  async isTokenAccepted(token: string, signal?: AbortSignal): Promise<boolean | null> {
    try {
      await this.send('/check_joined_conversation', { conversation_id: '-' }, token, signal);
      return true;
    } catch (err) {
      return isTokenRejected(err) ? false : null;
    }
  }

  private async send(
    path: string,
    body: object,
    token: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (cause) {
      throw new QuickImError(ErrorCode.Network, 0, `POST ${path} failed: no answer`, { cause });
    }
    try {
      return await readEnvelope(res);
    } catch (err) {
      if (err instanceof QuickImError) throw err;
      throw new QuickImError(ErrorCode.Network, 0, `POST ${path}: the answer was cut`, {
        cause: err,
      });
    }
  }
}
