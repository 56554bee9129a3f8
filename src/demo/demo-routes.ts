import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, successBody } from '../domain/errors.js';
import { InnerGate, answers, assertSessionIds, bodies, refuse } from '../http/index.js';
import type { RouteDocs } from '../http/index.js';
import type { TokenService } from '../services/token-service.js';
import { DemoAssets } from './demo-assets.js';
import type { Asset } from './demo-assets.js';

export interface DemoDeps {
  readonly tokens: TokenService;
  /** Who may get a token: the inner routes' gate; defaults to loopback peers, no proxy believed. */
  readonly gate?: InnerGate;
  /** The page's own files; defaults to `src/demo/public`. */
  readonly publicDir?: string;
  /** The client SDK's build output; defaults to `packages/client/dist`. */
  readonly sdkDir?: string;
}

const defaultPublicDir = fileURLToPath(new URL('./public/', import.meta.url));
const defaultSdkDir = fileURLToPath(new URL('../../packages/client/dist/', import.meta.url));

/** Scripts only from this origin (the page and the SDK), so message content can never run. */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

// Tests check the loopback rule through the demo that relies on it.
export { isLoopbackPeer } from '../http/index.js';

function sendAsset(reply: FastifyReply, asset: Asset): FastifyReply {
  return reply
    .headers({
      'content-type': asset.contentType,
      'cache-control': 'no-cache',
      'content-security-policy': DEMO_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    })
    .send(asset.body);
}

const pageDocs: RouteDocs = {
  summary: 'Demo only (--demo): the chat page',
  access: 'open',
  responses: { '200': { description: 'The page.', content: { 'text/html': { type: 'string' } } } },
  errors: [ErrorCode.Internal],
};

const assetDocs: RouteDocs = {
  summary: "Demo only (--demo): the page's files and the SDK's modules",
  access: 'open',
  responses: { '200': { description: 'The file.' } },
  errors: [ErrorCode.RouteNotFound],
};

/**
 * The demo chat: `GET /demo` (the page), `GET /demo/<file>` (its files and the SDK's modules,
 * from a fixed whitelist) and `POST /demo/token`, which hands out a token for any session to
 * the callers `/inner/*` admits, and to the demo page itself (its own origin) — a stand-in for
 * the product backend that would normally mint tokens.
 */
export function registerDemoRoutes(app: FastifyInstance, deps: DemoDeps): void {
  const assets = new DemoAssets(deps.publicDir ?? defaultPublicDir, deps.sdkDir ?? defaultSdkDir);

  app.get('/demo', { config: { docs: pageDocs } }, async (_request, reply) => {
    if ((await assets.sdkModules()) === undefined) {
      return refuse(
        reply,
        ErrorCode.Internal,
        'the demo needs the client SDK, which is not built: run `npm run build`',
        503,
      );
    }
    return sendAsset(reply, assets.index);
  });

  app.get(
    '/demo/*',
    { config: { docs: assetDocs } },
    async (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
      const asset = await assets.get(request.params['*']);
      return asset ? sendAsset(reply, asset) : refuse(reply, ErrorCode.RouteNotFound);
    },
  );

  app.post('/demo/token', {
    schema: { body: bodies.getToken },
    config: {
      docs: {
        summary: 'Demo only: a token for any session (inner gate, or the demo page itself)',
        access: 'inner',
        data: answers.token,
      },
    },
    // The page calls it with its own Origin; any other page is refused.
    onRequest: (deps.gate ?? InnerGate.loopbackOnly()).hook({ sameOrigin: true }),
    handler: async (request) => {
      const body = request.body as { session: string; platform: number };
      assertSessionIds([body.session]);
      return successBody(await deps.tokens.issue(body.session, body.platform));
    },
  });
}
