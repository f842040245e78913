import {
  AuthenticationError,
  isKeyholdError,
  type KeyholdError,
  ProviderUnavailableError,
} from '../../errors.js';
import type { AbortSignalLike } from '../../transport/abort.js';
import { parseSse } from '../../transport/sse.js';
import type { TransportResponse } from '../../transport/transport.js';
import type { ChatRequest } from '../../types/index.js';
import type { CallContext, ProviderAdapter } from '../adapter.js';
import { getProviderInfo } from '../catalogue.js';
import { joinUrl, readJson, sendUpstream, transportError } from '../http-call.js';
import { readAnthropicError, refineAnthropicError } from './anthropic-errors.js';
import { fromAnthropicStream } from './anthropic-stream.js';
import { fromAnthropicResponse } from './from-anthropic-response.js';
import { toAnthropicRequest } from './to-anthropic-request.js';

/** The API version Keyhold's mapping is written against. https://docs.claude.com/en/api/versioning */
export const ANTHROPIC_VERSION = '2023-06-01';

const FALLBACK_BASE_URL = 'https://api.anthropic.com';

/**
 * The Anthropic Messages adapter (`POST {baseURL}/v1/messages`, key in `x-api-key`). Anthropic
 * has no embeddings API, so the adapter has no `embed`.
 *
 * @example
 * const engine = createEngine({ provider: 'anthropic', model: 'claude-sonnet-4-5' });
 * const result = await generate(engine, { messages: [{ role: 'user', content: 'Hi' }] }, { apiKey: tenantKey });
 */
export function createAnthropicAdapter(provider: string): ProviderAdapter {
  return {
    provider,
    async generate(request, call) {
      const response = await send(provider, request, call, false);
      const body = await readJson(provider, response, call.signal);
      return fromAnthropicResponse(provider, body);
    },
    async *stream(request, call) {
      const response = await send(provider, request, call, true);
      try {
        yield* fromAnthropicStream(parseSse(response.body), { provider, model: request.model });
      } catch (error) {
        throw streamError(provider, error, call.signal);
      }
    },
  };
}

async function send(
  provider: string,
  request: ChatRequest,
  call: CallContext,
  stream: boolean,
): Promise<TransportResponse> {
  const url = joinUrl(baseURL(provider, call), '/v1/messages');
  const body = JSON.stringify(toAnthropicRequest(provider, request, { stream }));
  const key = call.credential.secrets.apiKey;
  if (!key) {
    throw new AuthenticationError(`No API key for provider "${provider}"`, { provider });
  }
  const own: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    'anthropic-version': ANTHROPIC_VERSION,
    'x-api-key': key.reveal(),
  };
  // Not `{ ...call, headers }` (packages/gateway/test/hot-path-literals.test.ts).
  const context: CallContext = { headers: undefined, ...call };
  context.headers = extraHeaders(call, own);
  try {
    return await sendUpstream(provider, context, { url, method: 'POST', headers: own, body }, (errorBody) =>
      readAnthropicError(errorBody),
    );
  } catch (error) {
    throw refineAnthropicError(provider, error);
  }
}

function baseURL(provider: string, call: CallContext): string {
  return call.credential.fields.baseURL ?? getProviderInfo(provider)?.defaultBaseURL ?? FALLBACK_BASE_URL;
}

/**
 * Caller headers (e.g. `anthropic-beta`) that do not collide, in any letter case, with one the
 * adapter sets: a differently-cased `X-Api-Key` must not ride along beside the credential's key.
 */
function extraHeaders(call: CallContext, own: Record<string, string>): Record<string, string> {
  const taken = new Set(Object.keys(own));
  return Object.fromEntries(
    Object.entries(call.headers ?? {}).filter(([name]) => !taken.has(name.toLowerCase())),
  );
}

/**
 * A failure while reading a started stream. A broken connection is reported as the stream ending
 * early; timeouts, aborts and typed errors keep their own class.
 */
function streamError(provider: string, error: unknown, signal: AbortSignalLike | undefined): KeyholdError {
  const mapped = transportError(provider, error, signal);
  if (isKeyholdError(error) || !(mapped instanceof ProviderUnavailableError)) return mapped;
  return new ProviderUnavailableError(`${provider} stream ended before completion`, {
    provider,
    providerCode: mapped.providerCode,
  });
}
