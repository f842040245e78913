import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { AbortSource } from '@keyhold/core';
import { type AuthResult, authenticate, type Caller, presentedKey } from '../auth/authenticate.js';
import { type Awaitable, type Directory, whenReady } from '../routing/directory.js';
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
