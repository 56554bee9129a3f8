/**
 * Fan-out load generator: R rooms × S members connected, then open-loop publishing by HTTP
 * POST on a fixed schedule. Each content embeds `~<phase>:<seq>:<scheduled ms>:` so every
 * receiver measures latency from the scheduled publish time (no coordinated omission) and
 * counts each message it gets: lost and duplicated deliveries are exact.
 */
import type { FanoutGenConfig, FanoutResult, ToGen } from '../lib/protocol.js';
import { latencyOf } from '../lib/stats.js';
import { closeFleet, openFleet, sourceFor } from './fleet.js';
import { qimCreate, qimTokens } from './http.js';
import { nextCommand, reply, waitFor } from './ipc.js';
import { MiniHttp } from './mini-http.js';
import { receiverKind } from './receivers.js';

interface Room {
  /** quick-im conversation id, or the reference's room name. */
  readonly key: string;
  /** quick-im: the token member 0 publishes with (platform 0; receivers use platform 1). */
  readonly pubToken: string;
  readonly members: Member[];
  /** Per message of the phase: whether its publish was answered 200. */
  acked: Uint8Array;
}

interface Member {
  counts: Uint8Array;
}

interface Phase {
  readonly id: number;
  readonly perRoom: number;
  latencies: Float64Array;
  samples: number;
  delivered: number;
  unique: number;
  stray: number;
  /** Scheduled start of the phase (performance.now() ms). */
  start: number;
  /** Worst latency per 500 ms of schedule. */
  worst: number[];
}

const MAX_SAMPLES = 20_000_000;

export async function runFanout(cfg: FanoutGenConfig): Promise<void> {
  const t0 = performance.now();
  const qim = cfg.target === 'quick-im';
  const nodeUrls = cfg.nodeUrls ?? [cfg.baseUrl];
  const rooms: Room[] = [];
  const session = (r: number, m: number): string => `r${r}-m${m}`;
  let receiverTokens: string[] = [];
  if (qim) {
    const sessions = Array.from({ length: cfg.rooms * cfg.members }, (_, i) =>
      session(Math.floor(i / cfg.members), i % cfg.members),
    );
    receiverTokens = await qimTokens(cfg.baseUrl, sessions, 1);
    const pubTokens = await qimTokens(
      cfg.baseUrl,
      Array.from({ length: cfg.rooms }, (_, r) => session(r, 0)),
      0,
    );
    for (let r = 0; r < cfg.rooms; r++) {
      const ids = Array.from({ length: cfg.members }, (_, m) => session(r, m));
      const key = await qimCreate(cfg.baseUrl, ids);
      rooms.push({ key, pubToken: pubTokens[r] as string, members: [], acked: new Uint8Array(0) });
    }
  } else {
    for (let r = 0; r < cfg.rooms; r++) {
      rooms.push({ key: `room-${r}`, pubToken: '', members: [], acked: new Uint8Array(0) });
    }
  }
  const setupMs = performance.now() - t0;

  let phase: Phase | null = null;
  let receiverErrors = 0;
  const members: Member[] = [];
  const kind = receiverKind(cfg.target, cfg.receiver);
  const onContent = (member: Member, content: string): void => {
    const now = performance.now();
    const p = phase;
    const a = content.indexOf(':');
    const b = content.indexOf(':', a + 1);
    const c = content.indexOf(':', b + 1);
    const seq = Number(content.slice(a + 1, b));
    if (p === null || Number(content.slice(1, a)) !== p.id || !(seq < member.counts.length)) {
      if (p !== null) p.stray++;
      return;
    }
    p.delivered++;
    const n = member.counts[seq] as number;
    if (n < 255) member.counts[seq] = n + 1;
    if (n > 0) return;
    p.unique++;
    const scheduled = Number(content.slice(b + 1, c));
    const latency = now - scheduled;
    if (p.samples < p.latencies.length) p.latencies[p.samples++] = latency;
    const bucket = Math.max(0, Math.min(100_000, Math.floor((scheduled - p.start) / 500)));
    if (!((p.worst[bucket] ?? 0) >= latency)) p.worst[bucket] = latency;
  };
  const fleet = await openFleet(cfg.rooms * cfg.members, cfg.connectConcurrency, (i) => {
    const room = rooms[Math.floor(i / cfg.members)] as Room;
    const member: Member = { counts: new Uint8Array(0) };
    members.push(member);
    room.members.push(member);
    return {
      kind,
      baseUrl: nodeUrls[
        (cfg.localRooms ? Math.floor(i / cfg.members) : i) % nodeUrls.length
      ] as string,
      localAddress: sourceFor(cfg.sourceIps, i),
      room: room.key,
      token: receiverTokens[i] ?? '',
      timeoutMs: cfg.connectTimeoutMs,
      onContent: (content) => onContent(member, content),
      onError: (why) => {
        if (receiverErrors++ < 5) process.stderr.write(`receiver: ${why}\n`);
      },
    };
  });
  if (fleet.failures > 0) {
    closeFleet(fleet);
    reply({
      type: 'error',
      message: `${fleet.failures} of ${cfg.rooms * cfg.members} connections failed: ${fleet.firstError}`,
    });
    return;
  }
  reply({
    type: 'ready',
    info: {
      setupMs,
      connections: cfg.rooms * cfg.members - fleet.failures,
      connectFailures: fleet.failures,
      connectMs: fleet.ms,
    },
  });

  // One publishing client per node; the in-flight count is what the generator has sent in all.
  const clients = nodeUrls.map((u) => {
    const url = new URL(u);
    return new MiniHttp(url.hostname, Number(url.port), Math.ceil(64 / nodeUrls.length));
  });
  const inflight = (): number => clients.reduce((n, c) => n + c.inflight, 0);
  const path = qim ? '/send_msg' : '/publish';

  async function run(cmd: Extract<ToGen, { type: 'run' }>): Promise<FanoutResult> {
    const total = Math.max(1, Math.round(cmd.rate * cmd.seconds));
    const perRoom = Math.ceil(total / cfg.rooms);
    for (const room of rooms) room.acked = new Uint8Array(perRoom);
    for (const m of members) m.counts = new Uint8Array(perRoom);
    const p: Phase = {
      id: cmd.phase,
      perRoom,
      latencies: new Float64Array(Math.min(MAX_SAMPLES, total * cfg.members)),
      samples: 0,
      delivered: 0,
      unique: 0,
      stray: 0,
      start: performance.now() + 5,
      worst: [],
    };
    phase = p;
    const errorsBefore = receiverErrors;
    const cpu0 = process.cpuUsage();
    let published = 0;
    let publishErrors = 0;
    const statuses: Record<number, number> = {};
    let maxLag = 0;
    const pad = 'x'.repeat(Math.max(0, cfg.payloadBytes - 25));
    const publish = (k: number, scheduled: number): void => {
      const room = rooms[k % cfg.rooms] as Room;
      const seq = Math.floor(k / cfg.rooms);
      if (inflight() >= cfg.maxInflight) {
        publishErrors++;
        statuses[-1] = (statuses[-1] ?? 0) + 1;
        return;
      }
      const content = `~${p.id}:${seq}:${scheduled.toFixed(3)}:${pad}`;
      const body = qim
        ? JSON.stringify({ conversation_id: room.key, status: 0, type: 1, content })
        : JSON.stringify({ room: room.key, content });
      (clients[(k % cfg.rooms) % clients.length] as MiniHttp).post(
        path,
        body,
        qim ? `Authorization: Bearer ${room.pubToken}\r\n` : '',
        (status) => {
          if (status === 200) {
            published++;
            room.acked[seq] = 1;
          } else {
            publishErrors++;
            statuses[status] = (statuses[status] ?? 0) + 1;
          }
        },
      );
    };

    const start = p.start;
    const interval = 1000 / cmd.rate;
    const hardStop = start + cmd.seconds * 1000 + 60_000;
    let k = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - start) / interval) + 1);
        for (; k < due; k++) {
          const scheduled = start + k * interval;
          maxLag = Math.max(maxLag, now - scheduled);
          publish(k, scheduled);
        }
        if (k >= total || now > hardStop) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    await waitFor(() => inflight() === 0 && p.unique >= published * cfg.members, cmd.drainMs);
    const windowMs = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    reply({ type: 'done' });

    let lost = 0;
    let duplicated = 0;
    let unique = 0;
    for (const room of rooms) {
      for (const m of room.members) {
        for (let s = 0; s < perRoom; s++) {
          const n = m.counts[s] as number;
          if (n > 0) unique++;
          if (n > 1) duplicated += n - 1;
          else if (n === 0 && room.acked[s] === 1) lost++;
        }
      }
    }
    phase = null;
    return {
      kind: 'fanout',
      phase: p.id,
      rate: cmd.rate,
      scheduled: k,
      published,
      publishFailed: publishErrors,
      unanswered: inflight(),
      errorStatuses: statuses,
      expected: published * cfg.members,
      delivered: p.delivered,
      unique,
      lost,
      duplicated,
      stray: p.stray,
      worstByHalfSecond: p.worst.map((x) => Math.round(x ?? 0)),
      windowMs,
      maxScheduleLagMs: maxLag,
      latencyMs: latencyOf(p.latencies.subarray(0, p.samples)),
      clientCpuMicros: cpu.user + cpu.system,
      receiverErrors: receiverErrors - errorsBefore,
    };
  }

  // Bounded: one command per phase, and the orchestrator's phases are bounded.
  for (let i = 0; i < 1000; i++) {
    const cmd = await nextCommand(cfg.lifetimeMs);
    if (cmd.type === 'close') break;
    if (cmd.type === 'run') reply({ type: 'result', result: await run(cmd) });
  }
  closeFleet(fleet);
  for (const c of clients) c.destroy();
}
