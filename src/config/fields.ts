import {
  bool,
  bus,
  cidrs,
  int,
  jwtKey,
  levels,
  nonEmpty,
  store,
  webhookSecret,
  webhookUrl,
  withoutPassword,
} from './values.js';
import type { BusSetting, LogLevel, StoreSetting } from './values.js';

export interface Settings {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly store: StoreSetting;
  readonly bus: BusSetting;
  /** From `--jwt-key`, or read from `--jwt-key-file`; undefined: generated (SQLite only). */
  readonly jwtKey: string | undefined;
  readonly jwtKeyFile: string | undefined;
  readonly webhookUrl: string | undefined;
  /** `whsec_` + base64; from `--webhook-secret` or read from `--webhook-secret-file`. */
  readonly webhookSecret: string | undefined;
  readonly webhookSecretFile: string | undefined;
  readonly webhookMaxInFlight: number;
  readonly innerAllow: readonly string[];
  readonly trustProxy: readonly string[];
  readonly tokenTtlSec: number;
  readonly maxContentBytes: number;
  readonly maxBodyBytes: number;
  readonly pingIntervalMs: number;
  readonly sseHeartbeatMs: number;
  readonly pollKeepMs: number;
  readonly queueMaxMessages: number;
  readonly queueMaxBytes: number;
  readonly storeTimeoutMs: number;
  readonly commitMaxWrites: number;
  readonly walMaxMb: number;
  readonly shutdownGraceMs: number;
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
  readonly sendRate: number;
  readonly joinRate: number;
  readonly logLevel: LogLevel;
  readonly demo: boolean;
}

export interface Field<K extends keyof Settings> {
  readonly key: K;
  readonly flag: string;
  readonly env: string;
  readonly doc: string;
  readonly fallback: string;
  readonly parse: (text: string) => Settings[K];
  /** How the value may appear in an error message; absent: verbatim. */
  readonly shown?: (text: string) => string;
}

function field<K extends keyof Settings>(f: Field<K>): Field<K> {
  return f;
}

/** Every setting: flag, environment variable, default and a one-line doc (README mirrors it). */
export const fields = [
  field({
    key: 'host',
    flag: 'host',
    env: 'QUICKIM_HOST',
    fallback: '0.0.0.0',
    doc: 'Address to listen on.',
    parse: nonEmpty,
  }),
  field({
    key: 'port',
    flag: 'port',
    env: 'QUICKIM_PORT',
    fallback: '8088',
    doc: 'TCP port to listen on (0 picks a free one).',
    parse: int(0, 65535),
  }),
  field({
    key: 'dataDir',
    flag: 'data-dir',
    env: 'QUICKIM_DATA_DIR',
    fallback: './data',
    doc: 'Directory for the embedded database and the generated key.',
    parse: nonEmpty,
  }),
  field({
    key: 'store',
    flag: 'store',
    env: 'QUICKIM_STORE',
    fallback: 'sqlite',
    doc: '`sqlite` (embedded, in the data dir) or a `postgres://` URL.',
    parse: store,
    shown: withoutPassword,
  }),
  field({
    key: 'bus',
    flag: 'bus',
    env: 'QUICKIM_BUS',
    fallback: 'memory',
    doc: '`memory` (one node), or a `nats://host:port` or `tls://host:port` URL (several nodes); credentials as `user:password@` or `token@`.',
    parse: bus,
    shown: withoutPassword,
  }),
  field({
    key: 'jwtKey',
    flag: 'jwt-key',
    env: 'QUICKIM_JWT_KEY',
    fallback: '',
    doc: 'HS256 signing key, at least 32 bytes; none: generated on first start and kept in the data dir (SQLite only).',
    parse: jwtKey,
    shown: () => '[redacted]',
  }),
  field({
    key: 'jwtKeyFile',
    flag: 'jwt-key-file',
    env: 'QUICKIM_JWT_KEY_FILE',
    fallback: '',
    doc: 'File holding the signing key (a trailing newline is ignored); instead of `--jwt-key`.',
    parse: (t) => (t === '' ? undefined : t),
  }),
  field({
    key: 'innerAllow',
    flag: 'inner-allow',
    env: 'QUICKIM_INNER_ALLOW',
    fallback: '127.0.0.0/8,::1',
    doc: 'Comma-separated CIDRs allowed to call `/inner/*`, `/metrics` and `/demo/token`.',
    parse: cidrs,
  }),
  field({
    key: 'trustProxy',
    flag: 'trust-proxy',
    env: 'QUICKIM_TRUST_PROXY',
    fallback: '',
    doc: 'Comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is believed.',
    parse: cidrs,
  }),
  field({
    key: 'tokenTtlSec',
    flag: 'token-ttl',
    env: 'QUICKIM_TOKEN_TTL',
    fallback: '86400',
    doc: 'Token lifetime in seconds.',
    parse: int(1, 31_536_000),
  }),
  field({
    key: 'maxContentBytes',
    flag: 'max-content-bytes',
    env: 'QUICKIM_MAX_CONTENT_BYTES',
    fallback: '65536',
    doc: 'Largest message `content`, in UTF-8 bytes.',
    parse: int(1, 16_777_216),
  }),
  field({
    key: 'maxBodyBytes',
    flag: 'max-body-bytes',
    env: 'QUICKIM_MAX_BODY_BYTES',
    fallback: '1048576',
    doc: 'Largest request body, in bytes.',
    parse: int(1024, 67_108_864),
  }),
  field({
    key: 'pingIntervalMs',
    flag: 'ping-interval-ms',
    env: 'QUICKIM_PING_INTERVAL_MS',
    fallback: '25000',
    doc: 'WebSocket ping interval; a connection that misses a pong is closed.',
    parse: int(100, 3_600_000),
  }),
  field({
    key: 'sseHeartbeatMs',
    flag: 'sse-heartbeat-ms',
    env: 'QUICKIM_SSE_HEARTBEAT_MS',
    fallback: '15000',
    doc: 'Interval of SSE comment heartbeats.',
    parse: int(100, 30_000),
  }),
  field({
    key: 'pollKeepMs',
    flag: 'poll-keep-ms',
    env: 'QUICKIM_POLL_KEEP_MS',
    fallback: '60000',
    doc: 'How long a long-poll place is kept between two polls.',
    parse: int(60_000, 3_600_000),
  }),
  field({
    key: 'queueMaxMessages',
    flag: 'queue-max-messages',
    env: 'QUICKIM_QUEUE_MAX_MESSAGES',
    fallback: '1000',
    doc: 'Messages queued for one connection before it is closed as too slow.',
    parse: int(1, 1_000_000),
  }),
  field({
    key: 'queueMaxBytes',
    flag: 'queue-max-bytes',
    env: 'QUICKIM_QUEUE_MAX_BYTES',
    fallback: '4194304',
    doc: 'UTF-8 bytes of messages queued for one connection before it is closed as too slow.',
    parse: int(1024, 1_073_741_824),
  }),
  field({
    key: 'storeTimeoutMs',
    flag: 'store-timeout-ms',
    env: 'QUICKIM_STORE_TIMEOUT_MS',
    fallback: '5000',
    doc: 'Longest wait for the store before a request answers 503.',
    parse: int(100, 600_000),
  }),
  field({
    key: 'commitMaxWrites',
    flag: 'commit-max-writes',
    env: 'QUICKIM_COMMIT_MAX_WRITES',
    fallback: '1000',
    doc: 'SQLite: writes arriving in one event-loop turn share one commit at its end; at most this many per commit.',
    parse: int(1, 100_000),
  }),
  field({
    key: 'walMaxMb',
    flag: 'wal-max-mb',
    env: 'QUICKIM_WAL_MAX_MB',
    fallback: '40',
    doc: 'SQLite: WAL size (MiB) at which it is copied back and restarted; larger: rarer short commit holds under load, more disk.',
    parse: int(1, 4096),
  }),
  field({
    key: 'shutdownGraceMs',
    flag: 'shutdown-grace-ms',
    env: 'QUICKIM_SHUTDOWN_GRACE_MS',
    fallback: '10000',
    doc: 'How long a graceful shutdown waits for in-flight requests.',
    parse: int(0, 600_000),
  }),
  field({
    key: 'requestTimeoutMs',
    flag: 'request-timeout-ms',
    env: 'QUICKIM_REQUEST_TIMEOUT_MS',
    fallback: '30000',
    doc: 'A request (headers and body) must arrive whole within this, else its connection is closed; push streams are exempt once open.',
    parse: int(1000, 600_000),
  }),
  field({
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'QUICKIM_MAX_CONNECTIONS',
    fallback: '50000',
    doc: 'Push connections (ws, sse, poll) this node holds at most; more are refused with 503.',
    parse: int(1, 10_000_000),
  }),
  field({
    key: 'sendRate',
    flag: 'send-rate',
    env: 'QUICKIM_SEND_RATE',
    fallback: '20',
    doc: 'Messages per second one session may send (burst twice that); over it 429. 0: no limit.',
    parse: int(0, 1_000_000),
  }),
  field({
    key: 'joinRate',
    flag: 'join-rate',
    env: 'QUICKIM_JOIN_RATE',
    fallback: '60',
    doc: 'Conversation creates and joins per minute one session may make (burst twice that); over it 429. 0: no limit.',
    parse: int(0, 1_000_000),
  }),
  field({
    key: 'logLevel',
    flag: 'log-level',
    env: 'QUICKIM_LOG_LEVEL',
    fallback: 'info',
    doc: 'pino log level; JSON lines on stdout (at `info` one per request), written within 100 ms and all at exit.',
    parse: (t) => {
      if (!(levels as readonly string[]).includes(t))
        throw new Error(`must be one of ${levels.join(', ')}`);
      return t as LogLevel;
    },
  }),
  field({
    key: 'webhookUrl',
    flag: 'webhook-url',
    env: 'QUICKIM_WEBHOOK_URL',
    fallback: '',
    doc: 'http(s) URL that receives every event as a signed Standard Webhooks POST; none: no webhooks.',
    parse: webhookUrl,
    shown: withoutPassword,
  }),
  field({
    key: 'webhookSecret',
    flag: 'webhook-secret',
    env: 'QUICKIM_WEBHOOK_SECRET',
    fallback: '',
    doc: 'Signing secret of the webhooks: `whsec_` and the base64 of at least 24 random bytes; required with `--webhook-url`.',
    parse: webhookSecret,
    shown: () => '[redacted]',
  }),
  field({
    key: 'webhookSecretFile',
    flag: 'webhook-secret-file',
    env: 'QUICKIM_WEBHOOK_SECRET_FILE',
    fallback: '',
    doc: 'File holding the webhook secret (a trailing newline is ignored); instead of `--webhook-secret`.',
    parse: (t) => (t === '' ? undefined : t),
  }),
  field({
    key: 'webhookMaxInFlight',
    flag: 'webhook-max-in-flight',
    env: 'QUICKIM_WEBHOOK_MAX_IN_FLIGHT',
    fallback: '16',
    doc: 'Webhook requests this node has in flight at most.',
    parse: int(1, 1000),
  }),
  field({
    key: 'demo',
    flag: 'demo',
    env: 'QUICKIM_DEMO',
    fallback: 'false',
    doc: 'Serve the demo chat at `/demo` and its allow-listed token endpoint (`--demo` alone turns it on).',
    parse: bool,
  }),
] as const;
