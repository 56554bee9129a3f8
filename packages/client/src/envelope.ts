import { ErrorCode, HttpStatus, QuickImError } from './errors.js';

/**
 * Reads one HTTP answer in the contract's envelope: `{"code": 0, "data": …}` on success,
 * `{"code": <non-zero>, "error": "…"}` on failure. Resolves with `data` (undefined when the
 * endpoint has none); rejects with QuickImError for a failure envelope, or with
 * `ErrorCode.BadResponse` when the body is not an envelope at all.
 */
export async function readEnvelope(res: Response): Promise<unknown> {
  const text = await res.text();
  const body = parseJson(text);
  if (isEnvelope(body)) {
    if (body.code === 0 && res.status === HttpStatus.Ok) return body.data;
    const message = typeof body.error === 'string' ? body.error : `error ${body.code}`;
    throw new QuickImError(body.code, res.status, message);
  }
  throw new QuickImError(
    ErrorCode.BadResponse,
    res.status,
    `HTTP ${res.status} without the quick-im envelope`,
  );
}

/** The failure an answer stands for; a success envelope where a failure was expected is BadResponse. */
export async function readFailure(res: Response): Promise<QuickImError> {
  try {
    await readEnvelope(res);
  } catch (err) {
    if (err instanceof QuickImError) return err;
    return new QuickImError(ErrorCode.Network, 0, 'the answer could not be read', { cause: err });
  }
  return new QuickImError(ErrorCode.BadResponse, res.status, `unexpected HTTP ${res.status}`);
}

interface Envelope {
  readonly code: number;
  readonly data?: unknown;
  readonly error?: unknown;
}

function isEnvelope(value: unknown): value is Envelope {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'number'
  );
}

/** JSON.parse that answers undefined instead of throwing. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
