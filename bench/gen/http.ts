import { Agent, request } from 'node:http';
import { pool } from '../lib/stats.js';

const setupAgent = new Agent({ keepAlive: true, maxSockets: 16 });

export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** POSTs JSON and parses the answer (setup calls; not on any measured path). */
export function postJson(
  baseUrl: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<JsonAnswer> {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}${path}`,
      { method: 'POST', headers, agent: setupAgent, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = JSON.parse(raw);
          } catch {
            // keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out`)));
    req.on('error', reject);
    req.end(text);
  });
}

function dataOf(answer: JsonAnswer, what: string): unknown {
  const b = answer.body as { code?: unknown; data?: unknown } | null;
  if (answer.status !== 200 || b === null || typeof b !== 'object' || b.code !== 0) {
    throw new Error(`${what} failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return b.data;
}

/** A quick-im token for (session, platform) from /inner/get_token. */
export async function qimToken(
  baseUrl: string,
  session: string,
  platform: number,
): Promise<string> {
  const data = dataOf(
    await postJson(baseUrl, '/inner/get_token', { session, platform }),
    'get_token',
  );
  if (typeof data !== 'string') throw new Error('get_token: no token');
  return data;
}

/** Many tokens at once: `tokens[i]` for `sessions[i]`. */
export async function qimTokens(
  baseUrl: string,
  sessions: readonly string[],
  platform: number,
): Promise<string[]> {
  const out = new Array<string>(sessions.length);
  await pool(sessions.length, 16, async (i) => {
    out[i] = await qimToken(baseUrl, sessions[i] as string, platform);
  });
  return out;
}

/** A conversation with these members, from /inner/create_conversation; returns its id. */
export async function qimCreate(baseUrl: string, sessions: readonly string[]): Promise<string> {
  const answer = await postJson(baseUrl, '/inner/create_conversation', {
    conversation_type: 0,
    sessions,
  });
  const data = dataOf(answer, 'create_conversation') as { ConversationId?: unknown };
  if (typeof data.ConversationId !== 'string') throw new Error('create_conversation: no id');
  return data.ConversationId;
}
