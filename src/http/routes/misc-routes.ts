import type { FastifyInstance } from 'fastify';

/** `GET /` and `GET /healthz`; `probe` resolves when the store (and bus) answer. */
export function registerMiscRoutes(app: FastifyInstance, probe: () => Promise<void>): void {
  app.get('/', (_request, reply) => {
    void reply.type('text/plain; charset=utf-8').send('quick-im');
  });

  app.get('/healthz', async (request, reply) => {
    try {
      await probe();
      return { status: 'ok' };
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'health probe failed');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
