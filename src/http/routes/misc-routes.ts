import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../domain/errors.js';
import type { InnerGate } from '../auth.js';
import { probeAnswers } from '../response-schemas.js';

/** A dependency a probe checks; `ping` resolves while it answers. */
export interface Probed {
  readonly name: 'store' | 'bus';
  ping(): Promise<void>;
}

export interface ProbeDeps {
  /** What `/healthz` and `/readyz` check, in parallel. */
  readonly probed: readonly Probed[];
  /** True once shutdown has begun. */
  readonly draining: () => boolean;
}

const text = (description: string) => ({
  description,
  content: { 'text/plain': { type: 'string' } },
});
const json = (description: string, schema: object) => ({
  description,
  content: { 'application/json': schema },
});

/** The names of the dependencies that did not answer. */
async function failing(request: FastifyRequest, probed: readonly Probed[]): Promise<string[]> {
  const results = await Promise.allSettled(probed.map((p) => p.ping()));
  const names: string[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    const name = probed[i]!.name;
    request.log.warn({ probe: name, err: (result.reason as Error).message }, 'probe failed');
    names.push(name);
  });
  return names;
}

/**
 * `GET /` and the probes: `/healthz` (the seed's combined probe, refused like any route while
 * draining), `/livez` (the process serves: always 200) and `/readyz` (store and bus answer and
 * the server is not draining). `/livez` and `/readyz` answer while shutdown drains.
 */
export function registerMiscRoutes(app: FastifyInstance, deps: ProbeDeps): void {
  app.get('/', {
    config: {
      docs: {
        summary: 'Answers `quick-im`',
        access: 'open',
        responses: { '200': text('quick-im') },
      },
    },
    handler: (_request, reply) => {
      void reply.type('text/plain; charset=utf-8').send('quick-im');
    },
  });

  app.get('/healthz', {
    config: {
      docs: {
        summary: 'Combined probe: store and bus answer',
        description: 'Kept as in the seed; prefer /livez and /readyz for orchestrators.',
        access: 'open',
        responses: {
          '200': json('Store and bus answer.', probeAnswers.ok),
          '503': json('The store or the bus does not answer.', probeAnswers.unavailable),
        },
      },
    },
    handler: async (request, reply) => {
      if ((await failing(request, deps.probed)).length === 0) return { status: 'ok' };
      return reply.code(503).send({ status: 'unavailable' });
    },
  });

  app.get('/livez', {
    config: {
      answersWhileDraining: true,
      docs: {
        summary: 'Liveness: 200 while the process serves HTTP',
        description: 'Checks nothing else: a store or bus outage must not restart the process.',
        access: 'open',
        responses: { '200': json('The process serves.', probeAnswers.ok) },
      },
    },
    handler: async () => ({ status: 'ok' }),
  });

  app.get('/readyz', {
    config: {
      answersWhileDraining: true,
      docs: {
        summary: 'Readiness: store and bus answer, and the server is not shutting down',
        access: 'open',
        responses: {
          '200': json('Ready for traffic.', probeAnswers.ok),
          '503': json(
            'Not ready: `failing` names what did not answer; `draining` while shutting down.',
            probeAnswers.notReady,
          ),
        },
      },
    },
    handler: async (request, reply) => {
      if (deps.draining()) return reply.code(503).send({ status: 'draining' });
      const names = await failing(request, deps.probed);
      if (names.length === 0) return { status: 'ok' };
      return reply.code(503).send({ status: 'unavailable', failing: names });
    },
  });
}

/** What `GET /metrics` serves. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** `GET /metrics`: Prometheus text, for the callers the inner gate admits. */
export function registerMetricsRoute(
  app: FastifyInstance,
  source: MetricsSource,
  gate: InnerGate,
): void {
  app.get('/metrics', {
    onRequest: gate.hook(),
    config: {
      docs: {
        summary: 'Prometheus metrics (addresses inside --inner-allow)',
        access: 'open',
        responses: { '200': text('Prometheus text exposition format.') },
        errors: [ErrorCode.InnerForbidden],
      },
    },
    handler: async (_request, reply) => {
      void reply.type(source.contentType);
      return source.metrics();
    },
  });
}
