import type { FastifyReply } from 'fastify';
import { toAnthropicErrorBody } from '../surfaces/anthropic/anthropic-errors.js';
import { toOpenAIErrorBody } from '../surfaces/openai/to-openai-error.js';
import type { Problem } from './problem.js';

/** A client API the gateway speaks; decides the shape of its error bodies. */
export type Surface = 'openai' | 'anthropic';

/** The surface a URL belongs to (errors raised before routing, e.g. a body too large). */
export function surfaceOf(url: string): Surface {
  return url.startsWith('/v1/messages') ? 'anthropic' : 'openai';
}

export function errorBody(surface: Surface, p: Problem): unknown {
  return surface === 'anthropic'
    ? toAnthropicErrorBody(p.status, p.message)
    : toOpenAIErrorBody(p.status, p.code, p.message, p.param);
}

/** Sends a problem in the surface's error shape, with `retry-after` when it has one. */
export function sendProblem(reply: FastifyReply, surface: Surface, p: Problem): FastifyReply {
  if (p.headers) reply.headers(p.headers);
  if (p.retryAfterSeconds !== undefined) reply.header('retry-after', String(p.retryAfterSeconds));
  // 499 is nginx's "client closed request"; nobody reads it, but logs should say what happened.
  return reply.code(p.status).type('application/json').send(errorBody(surface, p));
}
