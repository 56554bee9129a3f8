import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../test/helpers/manual-clock.js';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst of twice the rate, then refuses with the seconds to wait', () => {
    const clock = new ManualClock();
    const limiter = RateLimiter.perSecond(5, clock);
    for (let i = 0; i < 10; i++) assert.equal(limiter.take('alice'), 0, `send ${i}`);
    assert.equal(limiter.take('alice'), 1);
    clock.advance(200);
    assert.equal(limiter.take('alice'), 0, 'one token back after 1/rate s');
    assert.equal(limiter.take('alice'), 1);
  });

  it('keeps one bucket per key', () => {
    const clock = new ManualClock();
    const limiter = RateLimiter.perSecond(1, clock);
    assert.equal(limiter.take('a'), 0);
    assert.equal(limiter.take('a'), 0);
    assert.equal(limiter.take('a'), 1);
    assert.equal(limiter.take('b'), 0);
  });

  it('counts per minute with a burst of twice the rate and a whole-second Retry-After', () => {
    const clock = new ManualClock();
    const limiter = RateLimiter.perMinute(6, clock);
    for (let i = 0; i < 12; i++) assert.equal(limiter.take('s'), 0);
    assert.equal(limiter.take('s'), 10, 'one token every 10 s');
    clock.advance(9_500);
    assert.equal(limiter.take('s'), 1);
    clock.advance(500);
    assert.equal(limiter.take('s'), 0);
  });

  it('never refills past the burst', () => {
    const clock = new ManualClock();
    const limiter = RateLimiter.perSecond(2, clock);
    clock.advance(3_600_000);
    for (let i = 0; i < 4; i++) assert.equal(limiter.take('s'), 0);
    assert.ok(limiter.take('s') > 0);
  });

  it('allows everything at rate 0', () => {
    const limiter = RateLimiter.perSecond(0, new ManualClock());
    for (let i = 0; i < 1000; i++) assert.equal(limiter.take('s'), 0);
    assert.equal(limiter.size, 0);
  });

  it('tracks a bounded number of sessions, forgetting refilled ones first', () => {
    const clock = new ManualClock();
    const limiter = RateLimiter.perSecond(1, clock);
    for (let i = 0; i < 100_000; i++) limiter.take(`s${i}`);
    clock.advance(2_000);
    limiter.take('drained');
    limiter.take('drained');
    limiter.take('one-more');
    assert.equal(limiter.size, 2, 'the refilled buckets were forgotten');
    assert.equal(limiter.take('drained'), 1, 'a bucket that owes is kept');
  });
});
