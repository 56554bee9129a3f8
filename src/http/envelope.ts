import type { FastifyReply } from 'fastify';
import { errorBody, errorSpecs } from '../domain/errors.js';
import type { ErrorCode } from '../domain/errors.js';

/**
 * Answers with the failure envelope and the code's HTTP status (`status` overrides it, as
 * `UnavailableError` does with 503); `message` defaults to the catalogue's.
 */
export function refuse(
  reply: FastifyReply,
  code: ErrorCode,
  message?: string,
  status?: number,
): FastifyReply {
  return reply.code(status ?? errorSpecs[code].status).send(errorBody(code, message));
}
