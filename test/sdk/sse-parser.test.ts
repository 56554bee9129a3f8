import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from '../../packages/client/src/transports/sse-parser.js';
import type { SseMessage } from '../../packages/client/src/transports/sse-parser.js';

/** Parses `chunks` in order; returns the events and comments seen. */
function parse(chunks: readonly string[]): { events: SseMessage[]; comments: string[] } {
  const events: SseMessage[] = [];
  const comments: string[] = [];
  const parser = new SseParser(
    (e) => events.push(e),
    (c) => comments.push(c),
  );
  for (const chunk of chunks) parser.push(chunk);
  return { events, comments };
}

/** Every way to cut `text` in two. */
function everySplit(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);
}

describe('SseParser', () => {
  const stream =
    ': connected\n\n' +
    'id: AAAAA-2222-2222-222\nevent: message\ndata: {"MsgId":"AAAAA-2222-2222-222"}\n\n' +
    ': ping\n\n' +
    'event: kickout\ndata: {"code":10009,"error":"replaced"}\n\n';

  it('reads the server stream: ids, event names, data and comments', () => {
    const { events, comments } = parse([stream]);
    assert.deepEqual(events, [
      {
        event: 'message',
        data: '{"MsgId":"AAAAA-2222-2222-222"}',
        id: 'AAAAA-2222-2222-222',
      },
      { event: 'kickout', data: '{"code":10009,"error":"replaced"}', id: 'AAAAA-2222-2222-222' },
    ]);
    assert.deepEqual(comments, ['connected', 'ping']);
  });

  it('gives the same events however the stream is cut into chunks', () => {
    const whole = parse([stream]);
    for (const chunks of everySplit(stream)) assert.deepEqual(parse(chunks), whole);
    assert.deepEqual(parse([...stream]), whole, 'one character per chunk');
  });

  it('accepts CRLF, CR and LF line ends, also when a CRLF is split across chunks', () => {
    const expected = [{ event: 'slow', data: 'x', id: null }];
    assert.deepEqual(parse(['event: slow\r\ndata: x\r\n\r\n']).events, expected);
    assert.deepEqual(parse(['event: slow\rdata: x\r\r']).events, expected);
    assert.deepEqual(parse(['event: slow\r', '\ndata: x\r', '\n\r', '\n']).events, expected);
    for (const chunks of everySplit('data: x\r\n\r\ndata: y\r\n\r\n')) {
      assert.deepEqual(
        parse(chunks).events.map((e) => e.data),
        ['x', 'y'],
        JSON.stringify(chunks),
      );
    }
  });

  it('joins data lines, keeps spaces after the first, and skips events without data', () => {
    const { events } = parse(['data:a\ndata:  b\n\nevent: empty\n\nevent\ndata\n\n']);
    assert.deepEqual(events, [
      { event: 'message', data: 'a\n b', id: null },
      { event: 'message', data: '', id: null },
    ]);
  });

  it('waits for the blank line before dispatching', () => {
    const { events } = parse(['data: {"MsgId":', '"x"}\n']);
    assert.deepEqual(events, []);
  });
});
