import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { Frame } from './frame.js';

describe('Frame.wsFrame', () => {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  let url = '';

  before(async () => {
    // Each connection is sent the prebuilt bytes of the JSON named in its URL, straight on the socket.
    http.on('upgrade', (req, socket, head) => {
      const [, char = '', n = '0'] =
        /^\/(\D*)(\d+)$/u.exec(decodeURIComponent(req.url ?? '')) ?? [];
      const json = JSON.stringify({ x: (char || 'y').repeat(Number(n)) });
      wss.handleUpgrade(req, socket, head, () => {
        socket.write(new Frame('id', 'c', json).wsFrame);
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  // Multi-byte text: the length in the header counts UTF-8 bytes, not characters.
  for (const n of [41, 42, 21_842, 21_843]) {
    it(`is a text frame a WebSocket client reads whole, with ${n} three-byte characters`, async () => {
      const client = new WebSocket(`${url}/${encodeURIComponent('€')}${n}`);
      try {
        const [data] = (await once(client, 'message')) as [Buffer, boolean];
        assert.equal(data.toString('utf8'), JSON.stringify({ x: '€'.repeat(n) }));
      } finally {
        client.terminate();
      }
    });
  }

  after(() => {
    wss.close();
    http.close();
  });

  // 7-bit, 16-bit and 64-bit payload lengths (RFC 6455 §5.2), each at its edges.
  for (const n of [0, 117, 118, 200, 65_527, 65_528, 70_000]) {
    it(`is a text frame a WebSocket client reads whole, with ${n + 8} bytes of payload`, async () => {
      const client = new WebSocket(`${url}/${n}`);
      try {
        const [data, isBinary] = (await once(client, 'message')) as [Buffer, boolean];
        assert.equal(isBinary, false);
        assert.equal(data.toString('utf8'), JSON.stringify({ x: 'y'.repeat(n) }));
      } finally {
        client.terminate();
      }
    });
  }
});

describe('Frame.size', () => {
  it('counts UTF-8 bytes, not UTF-16 units', () => {
    const ascii = new Frame('id', 'c', JSON.stringify({ x: 'y'.repeat(1000) }));
    const euro = new Frame('id', 'c', JSON.stringify({ x: '€'.repeat(1000) }));
    const emoji = new Frame('id', 'c', JSON.stringify({ x: '😀'.repeat(1000) }));
    assert.equal(euro.size - ascii.size, 2000, 'three bytes each, one UTF-16 unit');
    assert.equal(emoji.size - ascii.size, 3000, 'four bytes each, two UTF-16 units');
    assert.equal(euro.bytes, euro.wsFrame.length - 4, 'what the wire carries');
  });
});
