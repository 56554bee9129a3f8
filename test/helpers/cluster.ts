import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Settings } from '../../src/config/settings.js';
import { startNodeProcess } from './child-nodes.js';
import type { ApiNode, NodeProcess } from './child-nodes.js';
import { HIGHEST_MSG_ID, LOWEST_MSG_ID } from './http.js';
import { startNats } from './nats.js';
import type { NatsServer } from './nats.js';
import type { MsgData } from './push-clients.js';
import { startPostgres } from './postgres.js';
import type { PostgresServer } from './postgres.js';
import { startServer } from './server.js';
import type { TestServer } from './server.js';

// Several quick-im nodes on one PostgreSQL and one nats-server, and what tests ask of them.

/** A token from the node's `/inner/get_token`. */
export async function tokenFrom(node: ApiNode, session: string, platform = 1): Promise<string> {
  const res = await node.post('/inner/get_token', { session, platform });
  assert.equal(res.status, 200, `get_token: ${JSON.stringify(res.body)}`);
  return res.body.data as string;
}

/** `/notify` of any node (push-clients' `notifyUrl` needs an in-process `TestServer`). */
export function pushUrl(node: ApiNode, protoc: 'ws' | 'sse' | 'poll', token: string): string {
  const url = new URL('/notify', protoc === 'ws' ? node.url.replace(/^http/, 'ws') : node.url);
  url.searchParams.set('protoc', protoc);
  url.searchParams.set('token', token);
  return url.toString();
}

/** Sends through `node`; asserts HTTP 200 and resolves with the MsgID. */
export async function sendVia(
  node: ApiNode,
  token: string,
  conversationId: string,
  content: string,
): Promise<string> {
  const res = await node.post(
    '/send_msg',
    { conversation_id: conversationId, status: 0, type: 1, content },
    token,
  );
  assert.equal(res.status, 200, `send_msg via ${node.url}: ${JSON.stringify(res.body)}`);
  return res.body.data.MsgID as string;
}

/** The whole history of a conversation, oldest first, read in pages of `by_range`. */
export async function readHistory(
  node: ApiNode,
  token: string,
  conversationId: string,
): Promise<MsgData[]> {
  const all: MsgData[] = [];
  let start = LOWEST_MSG_ID;
  for (;;) {
    const res = await node.post(
      '/get_conversation_msg_by_range',
      { conversation_id: conversationId, start_msg_id: start, end_msg_id: HIGHEST_MSG_ID },
      token,
    );
    assert.equal(res.status, 200, `by_range: ${JSON.stringify(res.body)}`);
    const page = (res.body.data.Msg as MsgData[]).filter((m) => m.MsgId > start);
    all.push(...page);
    if (page.length === 0) return all;
    start = (page[page.length - 1] as MsgData).MsgId;
  }
}

/** Asserts `ids` rise strictly (which also makes them unique). */
export function assertStrictlyIncreasing(ids: readonly string[], label: string): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(
      (ids[i - 1] as string) < (ids[i] as string),
      `${label}: ${ids[i]} at ${i} is not after ${ids[i - 1]}`,
    );
  }
}

/** Sum of every sample of `name` (all label sets) in Prometheus text; undefined when absent. */
export function metricValue(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] === name) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/** `GET /metrics` of a node, asserting Prometheus text. */
export async function scrape(node: ApiNode): Promise<string> {
  const res = await fetch(`${node.url}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200, text.slice(0, 200));
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return text;
}

// ---- a hanging PostgreSQL ------------------------------------------------------------------

function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function childPids(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => parentPid(pid) === parent);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Freezes the PostgreSQL serving `url` (SIGSTOP to its postmaster, then to every backend): it
 * still accepts TCP connections but answers nothing, like a hung or partitioned database.
 * Resolves with `thaw`, which must be called before the server is stopped.
 */
export async function freezePostgres(url: string): Promise<() => void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let postmaster: number | undefined;
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // Read while connected: the backend exits with the connection.
    postmaster = parentPid((rows[0] as { pid: number }).pid);
  } finally {
    await client.end();
  }
  assert.ok(postmaster !== undefined && postmaster > 1, 'the postmaster of the test database');
  // The postmaster first, so it forks no backend we would miss.
  signal(postmaster, 'SIGSTOP');
  const stopped = childPids(postmaster);
  for (const pid of stopped) signal(pid, 'SIGSTOP');
  let thawed = false;
  return () => {
    if (thawed) return;
    thawed = true;
    for (const pid of new Set([...stopped, ...childPids(postmaster)])) signal(pid, 'SIGCONT');
    signal(postmaster, 'SIGCONT');
  };
}

// ---- the cluster ---------------------------------------------------------------------------

export interface ClusterOptions {
  /** In-process nodes to start. */
  readonly nodes: number;
  /** Settings every in-process node gets (store, bus, key and data dir are the cluster's). */
  readonly settings?: Partial<Settings>;
}

/** PostgreSQL, nats-server and quick-im nodes sharing them and one JWT key. */
export interface Cluster {
  readonly postgres: PostgresServer;
  readonly nats: NatsServer;
  /** `postgres://…` of the cluster's database. */
  readonly storeUrl: string;
  readonly jwtKey: string;
  /** The in-process nodes, in start order. */
  readonly nodes: readonly TestServer[];
  /** Starts a node as a child process of `src/main.ts` on the same store, bus and key. */
  spawnNode(): Promise<NodeProcess>;
  /** Closes every node and child node, stops NATS, removes PostgreSQL. Never rejects. */
  stop(): Promise<void>;
}

function bounded<T>(p: Promise<T>, ms: number): Promise<T | void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Starts PostgreSQL, nats-server and `options.nodes` in-process nodes. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const jwtKey = randomBytes(32).toString('base64url');
  const nodes: TestServer[] = [];
  const processes: NodeProcess[] = [];
  const dirs: string[] = [];
  let postgres: PostgresServer | undefined;
  let nats: NatsServer | undefined;

  async function stop(): Promise<void> {
    // Bounded: a node that cannot close must not keep the servers below from stopping.
    const closing = [
      ...nodes.map((n) => n.close(true)),
      ...processes.map((p) => p.kill('SIGKILL')),
    ];
    await Promise.all(
      closing.map((p) =>
        bounded(
          p.catch(() => {}),
          10_000,
        ),
      ),
    );
    await nats?.stop().catch(() => {});
    await postgres?.destroy().catch(() => {});
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }

  try {
    [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
    const storeUrl = postgres.url;
    const natsUrl = nats.url;
    // One by one: the first node runs the migrations; the others would only wait for its lock.
    for (let i = 0; i < options.nodes; i++) {
      nodes.push(
        await startServer({
          ...options.settings,
          store: { kind: 'postgres', url: storeUrl },
          bus: { kind: 'nats', url: natsUrl },
          jwtKey,
        }),
      );
    }
    return {
      postgres,
      nats,
      storeUrl,
      jwtKey,
      nodes,
      async spawnNode() {
        const dataDir = mkdtempSync(join(tmpdir(), 'quick-im-node-'));
        dirs.push(dataDir);
        const node = await startNodeProcess([
          '--store',
          storeUrl,
          '--bus',
          natsUrl,
          // One argument: a base64url key may begin with '-', which parseArgs takes for a flag.
          `--jwt-key=${jwtKey}`,
          '--data-dir',
          dataDir,
        ]);
        processes.push(node);
        return node;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The `nodes[i]` of a cluster, failing clearly when the cluster is smaller. */
export function nodeAt(cluster: Cluster, i: number): TestServer {
  const node = cluster.nodes[i];
  assert.ok(node, `the cluster has no node ${i + 1}`);
  return node;
}
