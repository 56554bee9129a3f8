import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { webhookHeaders } from './signature.js';

describe('webhookHeaders', () => {
  const key = randomBytes(32);
  const secret = `whsec_${key.toString('base64')}`;
  const body = JSON.stringify({
    type: 'message.created',
    timestamp: new Date().toISOString(),
    data: { Content: 'héllo' },
  });

  it('verifies with the Standard Webhooks library', () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders(key, 'evt_1', now, body);
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  });

  it('does not verify with another body, id, timestamp or key', () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders(key, 'evt_1', now, body);
    const wh = new Webhook(secret);
    assert.throws(() => wh.verify(body.replace('héllo', 'hello'), headers));
    assert.throws(() => wh.verify(body, { ...headers, 'webhook-id': 'evt_2' }));
    assert.throws(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(now - 1) }));
    assert.throws(() =>
      new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, headers),
    );
  });
});
