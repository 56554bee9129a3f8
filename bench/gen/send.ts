/**
 * `/send_msg` throughput with autocannon: one conversation of S members, sent to by member 0;
 * with `online`, every member holds a quick-im WebSocket and each delivery is checked (MsgIds
 * rise strictly per conversation, so a repeat or a gap is visible).
 */
import autocannon from 'autocannon';
import type { SendGenConfig, SendResult, ToGen } from '../lib/protocol.js';
import { closeFleet, openFleet, sourceFor } from './fleet.js';
import { qimCreate, qimTokens } from './http.js';
import { nextCommand, reply, waitFor } from './ipc.js';

export async function runSend(cfg: SendGenConfig): Promise<void> {
  const t0 = performance.now();
  const qim = cfg.target === 'quick-im';
  const sessions = Array.from({ length: cfg.members }, (_, m) => `s-m${m}`);
  let conversationId = 'bench';
  let senderToken = 'bench';
  let receiverTokens: string[] = [];
  if (qim) {
    [senderToken] = (await qimTokens(cfg.baseUrl, [sessions[0] as string], 0)) as [string];
    receiverTokens = await qimTokens(cfg.baseUrl, sessions, 1);
    conversationId = await qimCreate(cfg.baseUrl, sessions);
  }
  let delivered = 0;
  let duplicated = 0;
  const lastIds: string[] = sessions.map(() => '');
  const fleet = cfg.online
    ? await openFleet(cfg.members, cfg.connectConcurrency, (i) => ({
        kind: 'qim-ws' as const,
        baseUrl: cfg.baseUrl,
        localAddress: sourceFor(cfg.sourceIps, i),
        room: '',
        token: receiverTokens[i] ?? '',
        timeoutMs: cfg.connectTimeoutMs,
        onContent: () => undefined,
        onError: () => undefined,
        onMsgId: (msgId: string) => {
          if (msgId > (lastIds[i] as string)) {
            lastIds[i] = msgId;
            delivered++;
          } else duplicated++;
        },
      }))
    : null;
  if (fleet !== null && fleet.failures > 0) {
    reply({ type: 'error', message: `receivers failed: ${fleet.firstError}` });
    return;
  }
  reply({
    type: 'ready',
    info: {
      setupMs: performance.now() - t0,
      connections: cfg.online ? cfg.members : 0,
      connectFailures: 0,
      connectMs: fleet?.ms ?? 0,
    },
  });
  const content = 'x'.repeat(cfg.payloadBytes);
  const body = JSON.stringify({ conversation_id: conversationId, status: 0, type: 1, content });

  /**
   * Messages the server has stored: the exact number every receiver must get. autocannon's
   * 2xx count misses requests still in flight when it stops (the server stores and delivers
   * them, but their answers are dropped), so counting from it reads those as surplus or loss.
   */
  async function acceptedTotal(): Promise<number> {
    const text = await (await fetch(`${cfg.baseUrl}/metrics`)).text();
    const line = /^quickim_messages_accepted_total (\d+)$/m.exec(text);
    if (line === null) throw new Error('no quickim_messages_accepted_total in /metrics');
    return Number(line[1]);
  }

  async function run(cmd: Extract<ToGen, { type: 'run' }>): Promise<SendResult> {
    const deliveredBefore = delivered;
    const dupBefore = duplicated;
    const acceptedBefore = cfg.online ? await acceptedTotal() : 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const r = await autocannon({
      url: `${cfg.baseUrl}/send_msg`,
      method: 'POST',
      connections: cfg.connections,
      duration: cmd.seconds,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${senderToken}` },
      body,
      timeout: 10,
    });
    const ok = r['2xx'];
    // Settles the requests autocannon abandoned at its deadline before the server is asked.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const accepted = cfg.online ? (await acceptedTotal()) - acceptedBefore : 0;
    if (cfg.online) {
      await waitFor(() => delivered - deliveredBefore >= accepted * cfg.members, cmd.drainMs);
    }
    const durationMs = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    reply({ type: 'done' });
    return {
      kind: 'send',
      phase: cmd.phase,
      requests: r.requests.total,
      ok,
      non2xx: r.non2xx,
      errors: r.errors,
      reqPerSec: ok / r.duration,
      latencyMs: {
        count: r.requests.total,
        p50: r.latency.p50,
        p90: r.latency.p90,
        p99: r.latency.p99,
        max: r.latency.max,
      },
      durationMs,
      expectedDeliveries: accepted * cfg.members,
      delivered: delivered - deliveredBefore,
      duplicated: duplicated - dupBefore,
      clientCpuMicros: cpu.user + cpu.system,
    };
  }

  // Bounded: one command per phase.
  for (let i = 0; i < 1000; i++) {
    const cmd = await nextCommand(cfg.lifetimeMs);
    if (cmd.type === 'close') break;
    if (cmd.type === 'run') reply({ type: 'result', result: await run(cmd) });
  }
  if (fleet !== null) closeFleet(fleet);
}
