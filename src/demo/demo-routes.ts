import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CidrSet } from '../config/cidr.js';
import { ErrorCode } from '../domain/errors.js';
import { sendFailure } from '../http/envelope.js';
import { assertSessionIds } from '../http/routes/validate.js';
import { bodies } from '../http/schemas.js';
import type { TokenService } from '../services/token-service.js';
import { DemoAssets } from './demo-assets.js';
import type { Asset } from './demo-assets.js';

export interface DemoDeps {
  readonly tokens: TokenService;
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

const loopback = new CidrSet(['127.0.0.0/8', '::1']);

/** Whether a TCP peer address is loopback: 127.0.0.0/8, `::1` or `::ffff:127.x.y.z`. */
export function isLoopbackPeer(address: string | undefined): boolean {
  return loopback.has(address);
}

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

/**
 * The demo chat: `GET /demo` (the page), `GET /demo/<file>` (its files and the SDK's modules,
 * from a fixed whitelist) and `POST /demo/token`, which hands out a token for any session to
 * loopback peers only — a stand-in for the product backend that would normally mint tokens.
 */
export function registerDemoRoutes(app: FastifyInstance, deps: DemoDeps): void {
  const assets = new DemoAssets(deps.publicDir ?? defaultPublicDir, deps.sdkDir ?? defaultSdkDir);

  app.get('/demo', async (_request, reply) => {
    if ((await assets.sdkModules()) === undefined) {
      return sendFailure(
        reply,
        ErrorCode.Internal,
        'the demo needs the client SDK, which is not built: run `npm run build`',
        503,
      );
    }
    return sendAsset(reply, assets.index);
  });

  app.get('/demo/*', async (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const asset = await assets.get(request.params['*']);
    return asset ? sendAsset(reply, asset) : sendFailure(reply, ErrorCode.RouteNotFound);
  });

  app.post('/demo/token', {
    schema: { body: bodies.getToken },
    // The socket's own peer, never X-Forwarded-For (not even from --trust-proxy), so a header
    // cannot make a remote client look local. Behind a local reverse proxy every client looks
    // local: one more reason the demo is off in production.
    onRequest: (request, reply, done) => {
      if (!isLoopbackPeer(request.socket.remoteAddress)) {
        sendFailure(
          reply,
          ErrorCode.InnerForbidden,
          'the demo token endpoint answers loopback only',
        );
        return;
      }
      done();
    },
    handler: async (request) => {
      const body = request.body as { session: string; platform: number };
      assertSessionIds([body.session]);
      return { code: 0, data: await deps.tokens.issue(body.session, body.platform) };
    },
  });
}
