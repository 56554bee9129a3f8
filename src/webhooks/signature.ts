import { createHmac } from 'node:crypto';

/**
 * The `webhook-signature` header of the Standard Webhooks spec: `v1,` and the base64
 * HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed by the secret's decoded bytes.
 */
export function signWebhook(key: Buffer, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The headers of one delivery attempt, signed at `timestampSec`. */
export function webhookHeaders(
  key: Buffer,
  id: string,
  timestampSec: number,
  body: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signWebhook(key, id, timestampSec, body),
  };
}
