import { randomBytes } from 'node:crypto';
import type { Settings } from '../../src/config/settings.js';
import type { ReceivedWebhook, WebhookReceiver } from './webhook-receiver.js';

/** A fresh `whsec_` secret (32 random bytes). */
export function webhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The settings that send a node's webhooks to `receiver`. */
export function webhookSettings(receiver: WebhookReceiver, secret: string): Partial<Settings> {
  return { webhookUrl: receiver.url, webhookSecret: secret };
}

/** A delivered event as the receiver verified it. */
export interface HookBody {
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

/** The verified body of a request; throws if its signature did not verify. */
export function bodyOf(r: ReceivedWebhook): HookBody {
  if (r.verified === undefined) throw new Error(`webhook ${r.id} did not verify`);
  return r.verified as HookBody;
}

/** Events answered 2xx, in arrival order, optionally of one conversation. */
export function deliveredBodies(receiver: WebhookReceiver, conversationId?: string): HookBody[] {
  return receiver
    .delivered()
    .map(bodyOf)
    .filter((b) => conversationId === undefined || b.data.ConversationID === conversationId);
}

/** How many distinct events were answered 2xx. */
export function deliveredIds(receiver: WebhookReceiver): Set<string> {
  return new Set(receiver.delivered().map((r) => r.id));
}
