import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { ApiResponse } from './server.js';

/**
 * HTTP status of every failure code, copied from CONTRACT.md's table rather than read from
 * src, so a drift in the catalogue fails the end-to-end tests.
 */
export const contractStatus: Readonly<Record<number, number>> = {
  10001: 400,
  10003: 403,
  10004: 403,
  10005: 404,
  10006: 429,
  10007: 413,
  10009: 409,
  10101: 401,
  10404: 404,
  90010: 400,
  90011: 400,
  90013: 400,
};

/** The contract's MsgId: `XXXXX-XXXX-XXXX-XXX` over `23456789ABCDEFGHJKLMNPQRSTUVWXYZ`. */
export const MSG_ID = /^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{3}$/;
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Ids below and above every id the server can allocate. */
export const LOWEST_MSG_ID = '22222-2222-2222-222';
export const HIGHEST_MSG_ID = 'ZZZZZ-ZZZZ-ZZZZ-ZZZ';

export interface RequestSpec {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is: no JSON encoding. */
  readonly body?: string;
}

/** One request over real HTTP; `body` is the parsed JSON answer, or the text when not JSON. */
export async function request(url: string, spec: RequestSpec = {}): Promise<ApiResponse> {
  const init: RequestInit = { method: spec.method ?? 'POST', headers: { ...spec.headers } };
  if (spec.body !== undefined) init.body = spec.body;
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** POSTs `body` verbatim as `application/json`, with the token as a bearer when given. */
export function postRaw(url: string, body: string, token?: string): Promise<ApiResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return request(url, { headers, body });
}

function describe(res: ApiResponse): string {
  return `HTTP ${res.status} ${JSON.stringify(res.body)}`;
}

function assertJson(res: ApiResponse): void {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, describe(res));
  assert.equal(typeof res.body, 'object', describe(res));
  assert.notEqual(res.body, null, describe(res));
}

/**
 * The success envelope: HTTP 200 and exactly `{"code": 0, "data": …}`; returns `data`.
 * (`ApiResponse.body` documents why it is untyped.)
 */
export function expectOk(res: ApiResponse): ApiResponse['body'] {
  assertJson(res);
  assert.equal(res.status, 200, describe(res));
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'data'], describe(res));
  assert.equal(res.body.code, 0, describe(res));
  return res.body.data;
}

/** The failure envelope: exactly `{"code", "error"}`, with the contract's HTTP status. */
export function expectFailure(res: ApiResponse, code: number, status?: number): void {
  const expected = status ?? contractStatus[code];
  assert.ok(expected !== undefined, `no contract status for ${code}`);
  assertJson(res);
  assert.equal(res.status, expected, describe(res));
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error'], describe(res));
  assert.equal(res.body.code, code, describe(res));
  assert.equal(typeof res.body.error, 'string', describe(res));
  assert.notEqual(res.body.error.trim(), '', describe(res));
}

/**
 * Writes `text` on a fresh TCP connection and resolves with everything the server sent
 * until it closed the connection (send `Connection: close` in well-formed requests).
 */
export function rawHttp(host: string, port: number, text: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may answer and close before it has read everything: keep what arrived.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.write(text);
  });
}

/** Splits a raw HTTP/1.1 answer into status, lower-cased headers and body text. */
export function parseRawResponse(raw: string): {
  status: number;
  headers: Map<string, string>;
  body: string;
} {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end !== -1, `no complete HTTP answer: ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers, body: raw.slice(end + 4) };
}
