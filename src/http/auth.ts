import type { FastifyReply, FastifyRequest } from 'fastify';
import { CidrSet } from '../config/cidr.js';
import { ErrorCode } from '../domain/errors.js';
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

/** An onRequest hook that admits only peers inside the inner allow-list. */
export function innerOnly(allow: CidrSet) {
  return (request: FastifyRequest, reply: FastifyReply, done: Done): void => {
    if (!allow.has(request.ip)) {
      refuse(reply, ErrorCode.InnerForbidden);
      return;
    }
    done();
  };
}

const loopback = new CidrSet(['127.0.0.0/8', '::1']);

/** Whether a TCP peer address is loopback: 127.0.0.0/8, `::1` or `::ffff:127.x.y.z`. */
export function isLoopbackPeer(address: string | undefined): boolean {
  return loopback.has(address);
}

/**
 * An onRequest hook that admits loopback peers only, else 10003 with `message`. It reads the
 * socket's own peer, never X-Forwarded-For (not even from --trust-proxy), so a header cannot
 * make a remote client look local.
 */
export function loopbackOnly(message: string) {
  return (request: FastifyRequest, reply: FastifyReply, done: Done): void => {
    if (!isLoopbackPeer(request.socket.remoteAddress)) {
      refuse(reply, ErrorCode.InnerForbidden, message);
      return;
    }
    done();
  };
}
