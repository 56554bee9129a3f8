import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageEvent } from '../bus/bus.js';
import { ManualClock } from '../../test/helpers/manual-clock.js';
import { GAP_WAIT_MS, Room } from './room.js';
import type { GapHandler } from './room.js';

const ev = (id: string, prev: string | null): MessageEvent => ({
  type: 'message',
  conversationId: 'c',
  msgId: id,
  prevMsgId: prev,
  frame: `{"MsgId":"${id}"}`,
});
/** A room that has read where the conversation stood when it was created. */
function started(
  clock: ManualClock,
  onGap: GapHandler<string>,
  since: string | null = null,
): Room<string> {
  const room = new Room<string>('c', clock, onGap);
  assert.deepEqual(room.start(since), []);
  return room;
}
const noGap = (): void => assert.fail('no gap expected');
const ids = (events: readonly MessageEvent[]): string[] => events.map((e) => e.msgId);

describe('Room', () => {
  it('passes messages that arrive in order straight through', () => {
    const room = started(new ManualClock(), noGap);
    assert.deepEqual(ids(room.admit(ev('A', null))), ['A']);
    assert.deepEqual(ids(room.admit(ev('B', 'A'))), ['B']);
    assert.deepEqual(ids(room.admit(ev('C', 'B'))), ['C']);
  });

  it('holds a message that overtook its predecessor and releases both in order', () => {
    const room = started(new ManualClock(), noGap);
    room.admit(ev('A', null));
    assert.deepEqual(ids(room.admit(ev('C', 'B'))), []);
    assert.deepEqual(ids(room.admit(ev('D', 'C'))), []);
    assert.deepEqual(ids(room.admit(ev('B', 'A'))), ['B', 'C', 'D']);
    room.dispose();
  });

  it('cancels the gap wait once the gap closes by itself', () => {
    const clock = new ManualClock();
    const room = started(clock, noGap);
    room.admit(ev('A', null));
    room.admit(ev('C', 'B'));
    assert.equal(clock.pendingTimers, 1);
    room.admit(ev('B', 'A'));
    assert.equal(clock.pendingTimers, 0);
    clock.advance(GAP_WAIT_MS * 2);
  });

  it('drops a message it already passed', () => {
    const room = started(new ManualClock(), noGap);
    room.admit(ev('A', null));
    room.admit(ev('B', 'A'));
    assert.deepEqual(ids(room.admit(ev('A', null))), []);
    assert.deepEqual(ids(room.admit(ev('B', 'A'))), []);
  });

  it('passes a first message straight through when its predecessor predates the room', () => {
    const room = started(new ManualClock(), noGap, 'J');
    assert.deepEqual(ids(room.admit(ev('K', 'J'))), ['K']);
  });

  it("fills from the store a first message's predecessor sent after the room was created", () => {
    const clock = new ManualClock();
    let asked: [string | null, string] | undefined;
    const room = started(clock, (_r, after, upTo) => (asked = [after, upTo]), 'H');
    assert.deepEqual(ids(room.admit(ev('K', 'J'))), [], 'waits for J');
    clock.advance(GAP_WAIT_MS);
    assert.deepEqual(asked, ['H', 'K']);
    assert.deepEqual(ids(room.fill([ev('J', null), ev('K', null)])), ['J', 'K']);
  });

  it('treats any predecessor as sent since when the conversation was empty at creation', () => {
    const clock = new ManualClock();
    let asked: [string | null, string] | undefined;
    const room = started(clock, (_r, after, upTo) => (asked = [after, upTo]), null);
    room.admit(ev('B', 'A'));
    clock.advance(GAP_WAIT_MS);
    assert.deepEqual(asked, [null, 'B']);
  });

  it('holds messages until it knows where it starts, then admits them in order', () => {
    const room = new Room<string>('c', new ManualClock(), noGap);
    assert.deepEqual(ids(room.admit(ev('L', 'K'))), []);
    assert.deepEqual(ids(room.admit(ev('K', 'J'))), []);
    assert.deepEqual(ids(room.start('J')), ['K', 'L']);
  });

  it('lets the first message through unchecked when the store could not say where it starts', () => {
    const room = new Room<string>('c', new ManualClock(), noGap);
    assert.deepEqual(room.start(undefined), []);
    assert.deepEqual(ids(room.admit(ev('K', 'J'))), ['K']);
  });

  it('asks for the gap once it has waited GAP_WAIT_MS, and fills it from stored messages', () => {
    const clock = new ManualClock();
    let asked: [string | null, string] | undefined;
    const room = started(clock, (_r, after, upTo) => (asked = [after, upTo]));
    room.admit(ev('A', null));
    room.admit(ev('D', 'C'));
    room.admit(ev('C', 'B'));
    clock.advance(GAP_WAIT_MS - 1);
    assert.equal(asked, undefined, 'not before GAP_WAIT_MS');
    clock.advance(1);
    assert.deepEqual(asked, ['A', 'D']);
    const out = room.fill([ev('B', null), ev('C', null), ev('D', null)]);
    assert.deepEqual(ids(out), ['B', 'C', 'D']);
    assert.deepEqual(ids(room.admit(ev('E', 'D'))), ['E']);
  });

  it('sends what it holds in order when the store cannot fill the gap', () => {
    const room = started(new ManualClock(), () => {});
    room.admit(ev('A', null));
    room.admit(ev('D', 'C'));
    room.admit(ev('C', 'B'));
    assert.deepEqual(ids(room.fill([])), ['C', 'D']);
  });
});
