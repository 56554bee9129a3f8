import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageEvent } from '../bus/bus.js';
import { GAP_WAIT_MS, Room } from './room.js';

const ev = (id: string, prev: string | null): MessageEvent => ({
  type: 'message',
  conversationId: 'c',
  msgId: id,
  prevMsgId: prev,
  frame: `{"MsgId":"${id}"}`,
});
const ids = (events: readonly MessageEvent[]): string[] => events.map((e) => e.msgId);

describe('Room', () => {
  it('passes messages that arrive in order straight through', () => {
    const room = new Room<string>('c', () => assert.fail('no gap expected'));
    assert.deepEqual(ids(room.admit(ev('A', null))), ['A']);
    assert.deepEqual(ids(room.admit(ev('B', 'A'))), ['B']);
    assert.deepEqual(ids(room.admit(ev('C', 'B'))), ['C']);
  });

  it('holds a message that overtook its predecessor and releases both in order', () => {
    const room = new Room<string>('c', () => assert.fail('no gap expected'));
    room.admit(ev('A', null));
    assert.deepEqual(ids(room.admit(ev('C', 'B'))), []);
    assert.deepEqual(ids(room.admit(ev('D', 'C'))), []);
    assert.deepEqual(ids(room.admit(ev('B', 'A'))), ['B', 'C', 'D']);
    room.dispose();
  });

  it('drops a message it already passed', () => {
    const room = new Room<string>('c', () => assert.fail('no gap expected'));
    room.admit(ev('A', null));
    room.admit(ev('B', 'A'));
    assert.deepEqual(ids(room.admit(ev('A', null))), []);
    assert.deepEqual(ids(room.admit(ev('B', 'A'))), []);
  });

  it('accepts any first message when it joins mid-conversation', () => {
    const room = new Room<string>('c', () => assert.fail('no gap expected'));
    assert.deepEqual(ids(room.admit(ev('K', 'J'))), ['K']);
  });

  it('asks for the gap after a while and fills it from stored messages', async () => {
    let asked: [string, string] | undefined;
    const room = new Room<string>('c', (_r, after, upTo) => (asked = [after, upTo]));
    room.admit(ev('A', null));
    room.admit(ev('D', 'C'));
    room.admit(ev('C', 'B'));
    await new Promise((r) => setTimeout(r, GAP_WAIT_MS + 100));
    assert.deepEqual(asked, ['A', 'D']);
    const out = room.fill([ev('B', null), ev('C', null), ev('D', null)]);
    assert.deepEqual(ids(out), ['B', 'C', 'D']);
    assert.deepEqual(ids(room.admit(ev('E', 'D'))), ['E']);
  });

  it('sends what it holds in order when the store cannot fill the gap', () => {
    const room = new Room<string>('c', () => {});
    room.admit(ev('A', null));
    room.admit(ev('D', 'C'));
    room.admit(ev('C', 'B'));
    assert.deepEqual(ids(room.fill([])), ['C', 'D']);
  });
});
