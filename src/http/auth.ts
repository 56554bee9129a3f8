import type { FastifyReply, FastifyRequest } from 'fastify';
import { CidrSet } from '../config/cidr.js';
import { ErrorCode, errorSpecs } from '../domain/errors.js';
import type { TokenClaims, TokenService } from '../services/token-service.js';
import { readBearer } from './bearer.js';
import { refuse } from './envelope.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate` on public routes. */
    claims: TokenClaims | null;
  }
}

type Done = (err?: Error) => void;

/** The bearer token from `Authorization`, else `?token=`. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const bearer = readBearer(request.headers.authorization);
  if (bearer !== undefined) return bearer;
  const query = request.query as Record<string, unknown> | undefined;
  const t = query?.token;
  return typeof t === 'string' ? t : undefined;
}

/**
 * An onRequest hook that verifies the token and sets `request.claims`; synchronous for a
 * token already verified (the usual case: a client sends the same token many times).
 */
export function authenticate(tokens: TokenService) {
  return (request: FastifyRequest, _reply: FastifyReply, done: Done): void => {
    const token = tokenOf(request);
    const cached = tokens.cached(token);
    if (cached !== undefined) {
      request.claims = cached;
      done();
      return;
    }
    tokens.verify(token).then((claims) => {
      request.claims = claims;
      done();
    }, done);
  };
}

const loopback = new CidrSet(['127.0.0.0/8', '::1']);

/** Whether a TCP peer address is loopback: 127.0.0.0/8, `::1` or `::ffff:127.x.y.z`. */
export function isLoopbackPeer(address: string | undefined): boolean {
  return loopback.has(address);
}

/** Headers by which a proxy names the client it forwards for. */
const forwardingHeaders = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const;

export interface GateOptions {
  /**
   * Admits a request whose `Origin` is the server's own (`http://<Host>`), as the demo page's
   * calls are; any other `Origin` is refused. Without it, any `Origin` is refused.
   */
  readonly sameOrigin?: boolean;
}

/**
 * Who may call the loopback-or-allow-list routes (`/inner/*`, `/metrics`, `/demo/token`): a
 * client inside `allow`, never through a proxy not named by `proxies`, never from a browser page.
 */
export class InnerGate {
  constructor(
    private readonly allow: CidrSet,
    private readonly proxies: CidrSet,
  ) {}

  /** Loopback peers only, no proxy believed. */
  static loopbackOnly(): InnerGate {
    return new InnerGate(loopback, new CidrSet([]));
  }

  /** Why `request` is refused, or undefined when it is admitted. */
  refusal(request: FastifyRequest, options: GateOptions = {}): string | undefined {
    const { headers } = request;
    const origin = headers.origin;
    if (origin !== undefined) {
      const own = headers.host === undefined ? undefined : `http://${headers.host}`;
      if (!options.sameOrigin || own === undefined || origin.toLowerCase() !== own.toLowerCase())
        return 'not callable from a browser page of another origin';
    }
    const peer = request.socket.remoteAddress;
    let client = peer;
    if (forwardingHeaders.some((h) => headers[h] !== undefined)) {
      // A reverse proxy on this host must not turn every internet client into loopback.
      if (!this.proxies.has(peer)) return 'forwarded by a peer outside --trust-proxy';
      // Fastify's trustProxy (the same list) makes this the rightmost X-Forwarded-For address
      // that is not itself a trusted proxy.
      if (headers['x-forwarded-for'] === undefined)
        return 'a trusted proxy must name the client in X-Forwarded-For';
      client = request.ip;
    }
    return this.allow.has(client) ? undefined : errorSpecs[ErrorCode.InnerForbidden].message;
  }

  /** An onRequest hook answering 403 / 10003 to a request that is not admitted. */
  hook(options: GateOptions = {}) {
    return (request: FastifyRequest, reply: FastifyReply, done: Done): void => {
      const refusal = this.refusal(request, options);
      if (refusal !== undefined) {
        refuse(reply, ErrorCode.InnerForbidden, refusal);
        return;
      }
      done();
    };
  }
}
