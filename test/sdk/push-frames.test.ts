import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  notifyUrl,
  parseFrame,
  parseSseEvent,
} from '../../packages/client/src/transports/notify-request.js';

const msg = {
  MsgId: '22222-2222-2222-223',
  ConversationID: 'c',
  FromSession: 'alice',
  SendTime: 1,
  Status: 0,
  Type: 0,
  Content: 'hi',
};

describe('push frames', () => {
  it('asks for events=1 only when events are wanted', () => {
    const params = { baseUrl: 'http://h', token: 't', lastMsgId: null };
    assert.equal(notifyUrl({ ...params, events: false }, 'sse'), 'http://h/notify?protoc=sse');
    assert.equal(
      notifyUrl({ ...params, events: true }, 'ws', { token: 't' }),
      'ws://h/notify?protoc=ws&events=1&token=t',
    );
  });

  it('tells messages from typed events, and checks each event field', () => {
    assert.deepEqual(parseFrame(JSON.stringify(msg)), { kind: 'messages', messages: [msg] });
    const read = { Event: 'read', ConversationID: 'c', Session: 'bob', ReadMsgId: msg.MsgId };
    const joined = { Event: 'joined', ConversationID: 'c', Sessions: ['bob'] };
    const left = { Event: 'left', ConversationID: 'c', Sessions: ['bob'], Kicked: true };
    for (const event of [read, joined, left]) {
      assert.deepEqual(parseFrame(JSON.stringify(event)), { kind: 'event', event });
      assert.deepEqual(parseSseEvent(event.Event, JSON.stringify(event)), { kind: 'event', event });
    }
    for (const bad of [
      { ...read, ReadMsgId: null },
      { ...joined, Sessions: 'bob' },
      { ...left, Kicked: 'yes' },
      { ...left, ConversationID: 1 },
      { Event: 7 },
    ]) {
      assert.equal(parseFrame(JSON.stringify(bad)), null, JSON.stringify(bad));
    }
    assert.equal(parseSseEvent('read', JSON.stringify(joined)), null, 'name and Event differ');
    assert.equal(parseFrame('{"MsgId":'), null);
  });

  it('ignores an event this client does not know, so a newer server does not break it', () => {
    assert.deepEqual(parseFrame('{"Event":"typing","ConversationID":"c"}'), { kind: 'ignored' });
  });
});
