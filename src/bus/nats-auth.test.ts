import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { natsUnavailable } from '../../test/helpers/nats.js';
import { freePort, skipReason } from '../../test/helpers/processes.js';
import type { BusEvent } from './bus.js';
import { NatsBus, natsConnectOptions } from './nats-bus.js';

const event: BusEvent = {
  type: 'membership',
  conversationId: 'c1',
  sessions: ['alice'],
  changed: ['alice'],
  change: 'joined',
};

/** Starts nats-server with `args` on a free port; resolves once it listens. */
async function natsServer(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('Server is ready')) resolve();
    });
    child.once('exit', () => reject(new Error(`nats-server exited: ${seen}`)));
  });
  return { port, child };
}

/** Opens a bus on `url`, publishes one event and waits for it to come back. */
async function roundTrip(url: string): Promise<BusEvent> {
  const bus = await NatsBus.open({ url });
  try {
    const heard = new Promise<BusEvent>((resolve) => bus.subscribe(resolve));
    await bus.publish(event);
    return await heard;
  } finally {
    await bus.close();
  }
}

describe('natsConnectOptions', () => {
  it('takes user and password out of the URL', () => {
    assert.deepEqual(natsConnectOptions('nats://svc:p%40ss%3Aw@10.0.0.1:4222'), {
      servers: 'nats://10.0.0.1:4222',
      user: 'svc',
      pass: 'p@ss:w',
    });
  });

  it('reads a lone user part as a token', () => {
    assert.deepEqual(natsConnectOptions('nats://s3cr3t@nats.internal:4222'), {
      servers: 'nats://nats.internal:4222',
      token: 's3cr3t',
    });
  });

  it('turns tls:// into a TLS connection', () => {
    assert.deepEqual(natsConnectOptions('tls://nats.internal:4443'), {
      servers: 'nats://nats.internal:4443',
      tls: {},
    });
  });

  it('refuses other schemes', () => {
    assert.throws(() => natsConnectOptions('http://nats.internal:4222'), /nats:\/\/ or tls:\/\//);
  });
});

describe('NatsBus credentials and TLS', { skip: skipReason(natsUnavailable()) }, () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('connects with user and password from the URL, and is refused with a wrong one', async () => {
    const { port, child } = await natsServer(['--user', 'svc', '--pass', 'p@ss']);
    children.push(child);
    assert.deepEqual(await roundTrip(`nats://svc:p%40ss@127.0.0.1:${port}`), event);
    await assert.rejects(NatsBus.open({ url: `nats://svc:wrong@127.0.0.1:${port}` }));
    await assert.rejects(NatsBus.open({ url: `nats://127.0.0.1:${port}` }));
  });

  it('connects with a token from the URL', async () => {
    const { port, child } = await natsServer(['--auth', 'tok3n']);
    children.push(child);
    assert.deepEqual(await roundTrip(`nats://tok3n@127.0.0.1:${port}`), event);
    await assert.rejects(NatsBus.open({ url: `nats://nope@127.0.0.1:${port}` }));
  });

  it('connects over tls:// to a server whose CA is in NODE_EXTRA_CA_CERTS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qim-nats-tls-'));
    dirs.push(dir);
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const { port, child } = await natsServer(['--tls', '--tlscert', cert, '--tlskey', key]);
    children.push(child);
    // NODE_EXTRA_CA_CERTS is read at process start: the client runs in a child process.
    const script = `
      import { NatsBus } from ${JSON.stringify(new URL('./nats-bus.ts', import.meta.url).href)};
      const bus = await NatsBus.open({ url: process.argv[1] });
      const heard = new Promise((r) => bus.subscribe(r));
      await bus.publish({ type: 'membership', conversationId: 'c1', sessions: ['alice'], changed: ['alice'], change: 'joined' });
      console.log(JSON.stringify(await heard));
      await bus.close();`;
    const run = (extraCa: boolean): string =>
      execFileSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, `tls://127.0.0.1:${port}`],
        {
          env: { ...process.env, ...(extraCa ? { NODE_EXTRA_CA_CERTS: cert } : {}) },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 20_000,
        },
      );
    assert.deepEqual(JSON.parse(run(true)), event);
    assert.throws(() => run(false), 'an unknown CA is refused');
  });
});
