import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { AbortSource } from '@keyhold/core';
import { type AuthResult, authenticate, type Caller, presentedKey } from '../auth/authenticate.js';
import { type Awaitable, type Directory, whenReady } from '../routing/directory.js';
import { rejectUpstreamOverrides } from '../routing/reject-upstream-overrides.js';
import type { Exchange } from './exchange.js';
import { type Outcome, problem } from './problem.js';

/**
 * Authenticates the request's virtual key (`x-api-key` too on the Anthropic surface); at once,
 * without a promise, when the directory cache holds the key.
 */
export function authenticateRequest(
  headers: IncomingHttpHeaders,
  directory: Directory,
  allowXApiKey: boolean,
): Awaitable<Outcome<Caller>> {
  return whenReady(authenticate(directory, presentedKey(headers, allowXApiKey)), toOutcome);
}

function toOutcome(result: AuthResult): Outcome<Caller> {
  if (result.ok) return { ok: true, value: result.caller };
  return { ok: false, problem: problem(result.status, result.code, result.message) };
}

const MAX_PROVIDER_KEY_LENGTH = 4096;

/** The `X-Provider-API-Key` header, checked for shape (never echoed). */
export function headerKeyOf(headers: IncomingHttpHeaders): Outcome<string | undefined> {
  const value = headers['x-provider-api-key'];
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
 * An abort source that fires when the client goes away before the response is complete, so the
 * upstream request is cancelled too. Core's cheap `AbortSource`, not an `AbortController`: one is
 * made per request, and a Node 20 `AbortSignal` costs microseconds to make (transport/abort.ts in core).
 */
export function abortOnClose(res: ServerResponse): AbortSource {
  const controller = new AbortSource();
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', onClose);
  return controller;
}

/**
 * The request body as an object that names no upstream override (`base_url`, `api_base`, …);
 * otherwise the refusal is sent and the result is undefined.
 */
export function objectBodyOf(exchange: Exchange): Record<string, unknown> | undefined {
  const body = exchange.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    exchange.refuse(problem(400, 'invalid_body', 'The request body must be a JSON object'));
    return undefined;
  }
  const override = rejectUpstreamOverrides(body as Record<string, unknown>);
  if (override) {
    exchange.refuse(override);
    return undefined;
  }
  return body as Record<string, unknown>;
}
