import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseReason } from '../realtime/close-reasons.js';
import { Frame } from '../realtime/frame.js';
import { PollSession } from './poll-session.js';
import type { PollAnswer } from './poll-session.js';

const frame = (id: string): Frame => new Frame(id, 'c', `{"MsgId":"${id}"}`);
const KEEP_MS = 60_000;

/** A poll waiting on `session`; `answers` collects what it is answered. */
function waiting(session: PollSession, batch: number | null, deadline: number): PollAnswer[] {
  const answers: PollAnswer[] = [];
  session.wait((a) => answers.push(a), batch, deadline);
  return answers;
}

describe('PollSession', () => {
  it('takes frames only while a poll waits, up to its batch, and moves its position', () => {
    const session = new PollSession(KEEP_MS, 0, 'start');
    assert.equal(session.capacity(), 0);
    const answers = waiting(session, 2, 1000);
    assert.equal(session.capacity(), 2);
    session.write([frame('a'), frame('b')]);
    assert.deepEqual(answers, [{ status: 200, body: '[{"MsgId":"a"},{"MsgId":"b"}]' }]);
    assert.equal(session.position, 'b');
    assert.equal(session.capacity(), 0, 'answered: no poll waits');
  });

  it('answers one object without batch, and keeps its starting position until then', () => {
    const session = new PollSession(KEEP_MS, 0, 'start');
    assert.equal(session.position, 'start');
    const answers = waiting(session, null, 1000);
    session.write([frame('a')]);
    assert.deepEqual(answers, [{ status: 200, body: '{"MsgId":"a"}' }]);
  });

  it('answers 204 at the deadline, then is kept keepMs after the poll ended', () => {
    const session = new PollSession(KEEP_MS, 0, 'start');
    const answers = waiting(session, null, 1000);
    assert.equal(session.tick(999), true);
    assert.deepEqual(answers, []);
    assert.equal(session.tick(1000), true);
    assert.deepEqual(answers, [{ status: 204 }]);
    assert.equal(session.tick(1000 + KEEP_MS - 1), true);
    assert.equal(session.tick(1000 + KEEP_MS), false, 'forgotten');
  });

  it('answers an older waiting poll 409 when a newer one waits', () => {
    const session = new PollSession(KEEP_MS, 0, 'start');
    const older = waiting(session, null, 1000);
    waiting(session, null, 1000);
    assert.equal(older[0]?.status, 409);
  });

  it('answers a waiting poll in the form of the close reason', () => {
    const cases: [CloseReason, number][] = [
      [CloseReason.Replaced, 409],
      [CloseReason.Expired, 401],
      [CloseReason.Slow, 503],
      [CloseReason.Unavailable, 503],
    ];
    for (const [reason, status] of cases) {
      const session = new PollSession(KEEP_MS, 0, 'start');
      const answers = waiting(session, null, 1000);
      session.close(reason);
      assert.equal(answers[0]?.status, status, reason);
    }
  });

  it('lets an abandoned poll go without answering it', () => {
    const session = new PollSession(KEEP_MS, 0, 'start');
    const answers: PollAnswer[] = [];
    const answer = (a: PollAnswer): void => void answers.push(a);
    session.wait(answer, null, 1000);
    assert.equal(session.cancel(answer, 10), true);
    assert.equal(session.capacity(), 0);
    assert.equal(session.cancel(answer, 10), false, 'already gone');
    assert.deepEqual(answers, []);
  });
});
