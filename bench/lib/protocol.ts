/**
 * Messages between the orchestrator (bench/run.ts) and the load-generator child process
 * (bench/gen/main.ts), and the configurations the generator is started with.
 */

/** A server under test: quick-im or one of the references the bench starts itself. */
export type Target = 'quick-im' | 'raw-ws' | 'raw-ws-send' | 'socketio' | 'bare-fastify';
/** How quick-im receivers take their push; the references always use WebSocket. */
export type Receiver = 'ws' | 'sse' | 'poll';

interface GenBase {
  /** `http://127.0.0.1:<port>` of the server under test. */
  readonly baseUrl: string;
  /** Local addresses the generator's connections are spread over (127.0.0.2, 127.0.0.3, …). */
  readonly sourceIps: readonly string[];
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  /** The generator exits on its own after this long, whatever happens. */
  readonly lifetimeMs: number;
}

export interface FanoutGenConfig extends GenBase {
  readonly kind: 'fanout';
  readonly target: Target;
  readonly receiver: Receiver;
  readonly rooms: number;
  readonly members: number;
  readonly payloadBytes: number;
  /** Publishes in flight beyond this are counted as publish errors instead of queued. */
  readonly maxInflight: number;
  /**
   * Every node's base URL (cluster; `baseUrl` is the first, and takes the setup calls).
   * Receiver i connects to node i mod n, so each room's members are spread over the nodes,
   * and room r publishes through node r mod n. Absent: everything goes to `baseUrl`.
   */
  readonly nodeUrls?: readonly string[];
  /** With `nodeUrls`: every member of room r connects to node r mod n instead. */
  readonly localRooms?: boolean;
}

export interface ConnectionsGenConfig extends GenBase {
  readonly kind: 'connections';
  readonly target: Target;
  readonly count: number;
  readonly roomSize: number;
}

export interface SendGenConfig extends GenBase {
  readonly kind: 'send';
  readonly target: Target;
  /** Whether every member of the conversation holds an open WebSocket while sending. */
  readonly online: boolean;
  readonly members: number;
  readonly connections: number;
  readonly payloadBytes: number;
}

export type GenConfig = FanoutGenConfig | ConnectionsGenConfig | SendGenConfig;

/** Orchestrator → generator. */
export type ToGen =
  | { readonly type: 'connect' }
  | {
      readonly type: 'run';
      readonly phase: number;
      readonly rate: number;
      readonly seconds: number;
      readonly drainMs: number;
    }
  | { readonly type: 'close' };

export interface ReadyInfo {
  readonly setupMs: number;
  readonly connections: number;
  readonly connectFailures: number;
  readonly connectMs: number;
}

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface FanoutResult {
  readonly kind: 'fanout';
  readonly phase: number;
  readonly rate: number;
  readonly scheduled: number;
  readonly published: number;
  /** Publishes answered with another status than 200, or whose connection failed. */
  readonly publishFailed: number;
  /** Publishes still unanswered when the drain ended. */
  readonly unanswered: number;
  /** Failed publishes by HTTP status (0: connection failed, -1: too many in flight). */
  readonly errorStatuses: Readonly<Record<string, number>>;
  readonly expected: number;
  readonly delivered: number;
  readonly unique: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Frames that were not for this phase or could not be parsed. */
  readonly stray: number;
  /** Worst latency (ms) of the messages scheduled in each 500 ms of the phase. */
  readonly worstByHalfSecond: readonly number[];
  /** From the first scheduled publish to the end of the drain, ms. */
  readonly windowMs: number;
  /** Latest a publish left after its scheduled time, ms (generator lag). */
  readonly maxScheduleLagMs: number;
  readonly latencyMs: Latency;
  readonly clientCpuMicros: number;
  readonly receiverErrors: number;
}

export interface ConnectionsResult {
  readonly kind: 'connections';
  readonly opened: number;
  readonly failures: number;
  readonly connectMs: number;
  readonly clientRssBytes: number;
  readonly stillOpen: number;
}

export interface SendResult {
  readonly kind: 'send';
  readonly phase: number;
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly reqPerSec: number;
  readonly latencyMs: Latency;
  readonly durationMs: number;
  readonly expectedDeliveries: number;
  readonly delivered: number;
  readonly duplicated: number;
  readonly clientCpuMicros: number;
}

export type GenResult = FanoutResult | ConnectionsResult | SendResult;

/** Generator → orchestrator. `done` marks the end of a measured window, before `result`. */
export type FromGen =
  | { readonly type: 'ready'; readonly info: ReadyInfo }
  | { readonly type: 'done' }
  | { readonly type: 'result'; readonly result: GenResult }
  | { readonly type: 'error'; readonly message: string };
