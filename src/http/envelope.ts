import type { FastifyReply } from 'fastify';
import { ErrorCode, errorSpecs } from '../domain/errors.js';

export interface Failure {
  readonly code: number;
  readonly error: string;
}

/** Sends the failure envelope with the code's HTTP status (or `status` when given). */
export function sendFailure(
  reply: FastifyReply,
  code: ErrorCode,
  message?: string,
  status?: number,
): FastifyReply {
  const body: Failure = { code, error: message ?? errorSpecs[code].message };
  return reply.code(status ?? errorSpecs[code].status).send(body);
}
