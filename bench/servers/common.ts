import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

/** `--port N --host H [--send]` of a reference server (`--send`: raw-ws's per-socket mode). */
export function listenArgs(): { port: number; host: string; send: boolean } {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' }, send: { type: 'boolean' } },
    strict: true,
  });
  return {
    port: Number(values.port ?? 0),
    host: values.host ?? '127.0.0.1',
    send: values.send === true,
  };
}

export interface PublishBody {
  readonly room: string;
  readonly content: string;
}

const MAX_BODY = 1 << 20;

/** Reads and parses `{room, content}`; null (after answering 400/413) if it is not one. */
export function readPublish(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<PublishBody | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        resolve(null);
        return;
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<PublishBody>;
        if (typeof body.room === 'string' && typeof body.content === 'string') {
          resolve({ room: body.room, content: body.content });
          return;
        }
      } catch {
        // answered below
      }
      res.writeHead(400).end();
      resolve(null);
    });
    req.on('error', () => resolve(null));
  });
}

const OK = Buffer.from('{"ok":true}');

export function answerOk(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': OK.length });
  res.end(OK);
}

/** Logs the pino-style "listening" line and exits cleanly on SIGTERM/SIGINT. */
export function announce(address: string, close: (done: () => void) => void): void {
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'listening', address })}\n`);
  const stop = (): void => {
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    close(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
