import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type Caller, presentedKey } from '../auth/authenticate.js';
import type { Directory } from '../routing/directory.js';
import type { RequestTiming } from '../routing/provider-caller.js';
import { type Outcome, problem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    timing: RequestTiming;
  }
}

/** Milliseconds spent inside the gateway so far, upstream waits excluded, as header text. */
export function overheadOf(request: FastifyRequest): string {
  const { started, upstreamMs } = request.timing;
  return Math.max(0, performance.now() - started - upstreamMs).toFixed(3);
}

/** Authenticates the request's virtual key (`x-api-key` too on the Anthropic surface). */
export async function authenticateRequest(
  request: FastifyRequest,
  directory: Directory,
  allowXApiKey: boolean,
): Promise<Outcome<Caller>> {
  const result = await authenticate(directory, presentedKey(request.headers, allowXApiKey));
  if (result.ok) return { ok: true, value: result.caller };
  return { ok: false, problem: problem(result.status, result.code, result.message) };
}

const MAX_PROVIDER_KEY_LENGTH = 4096;

/** The `X-Provider-API-Key` header, checked for shape (never echoed). */
export function headerKeyOf(request: FastifyRequest): Outcome<string | undefined> {
  const value = request.headers['x-provider-api-key'];
  if (value === undefined) return { ok: true, value: undefined };
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.length > MAX_PROVIDER_KEY_LENGTH ||
    /\s/.test(value)
  ) {
    return {
      ok: false,
      problem: problem(400, 'invalid_provider_key_header', 'Malformed X-Provider-API-Key header'),
    };
  }
  return { ok: true, value };
}

/**
 * An AbortController that fires when the client goes away before the response is complete, so
 * the upstream request is cancelled too.
 */
export function abortOnClose(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', onClose);
  return controller;
}
