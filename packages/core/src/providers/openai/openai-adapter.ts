import { InvalidRequestError } from '../../errors.js';
import { parseSseBatches } from '../../transport/sse.js';
import type { TransportResponse } from '../../transport/transport.js';
import type { ChatRequest, EmbedRequest } from '../../types/index.js';
import type { CallContext, ProviderAdapter } from '../adapter.js';
import { getProviderInfo } from '../catalogue.js';
import { joinUrl, readJson, sendUpstream } from '../http-call.js';
import { fromOpenAIEmbeddingResponse } from './from-openai-embedding-response.js';
import { fromOpenAIResponse } from './from-openai-response.js';
import { readOpenAIError, refineOpenAIError } from './openai-errors.js';
import { quirksOf } from './openai-provider-quirks.js';
import { fromOpenAIStream } from './openai-stream.js';
import { toOpenAIEmbeddingRequest, toOpenAIRequest } from './to-openai-request.js';

/** Where a call goes and how it authenticates. The default is `{baseURL}/…` with a bearer key; Azure supplies its own. */
export interface OpenAIEndpoint {
  url(call: CallContext, operation: 'chat/completions' | 'embeddings', request: { model: string }): string;
  /** Authentication headers, built from the credential at the moment of the call. */
  authHeaders(call: CallContext): Record<string, string>;
}

/**
 * Caller headers never carry authentication (`CallContext.headers`): any header that could, in any
 * letter case, is dropped, so a caller's `Authorization` cannot ride beside Azure's `api-key` (or
 * an `api-key` beside OpenAI's bearer) and pick which identity the provider bills.
 */
const AUTHENTICATION_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'api-key',
  'x-api-key',
  'cookie',
]);

function withoutAuthHeaders(call: CallContext): CallContext {
  if (!call.headers) return call;
  const names = Object.keys(call.headers);
  if (!names.some((name) => AUTHENTICATION_HEADERS.has(name.toLowerCase()))) return call;
  const headers: Record<string, string> = {};
  for (const name of names) {
    if (!AUTHENTICATION_HEADERS.has(name.toLowerCase())) headers[name] = call.headers[name]!;
  }
  // Not `{ ...call, headers }` (packages/gateway/test/hot-path-literals.test.ts).
  const stripped: CallContext = { headers: undefined, ...call };
  stripped.headers = headers;
  return stripped;
}

function bearerEndpoint(provider: string): OpenAIEndpoint {
  const defaultBaseURL = getProviderInfo(provider)?.defaultBaseURL;
  return {
    url(call, operation) {
      // vLLM and custom servers have no default: the key chain insists on a baseURL for them.
      const base = call.credential.fields.baseURL ?? defaultBaseURL;
      if (!base) throw new InvalidRequestError(`No base URL is configured for "${provider}"`, { provider });
      return joinUrl(base, operation);
    },
    authHeaders(call): Record<string, string> {
      const key = call.credential.secrets.apiKey;
      // A local Ollama runs without a key: send no Authorization header rather than an empty bearer.
      return key ? { authorization: `Bearer ${key.reveal()}` } : {};
    },
  };
}

/**
 * The OpenAI Chat Completions and Embeddings adapter. Serves OpenAI and every catalogue provider
 * whose wire format is `openai` (Mistral, Groq, Together, Fireworks, DeepSeek, xAI, OpenRouter,
 * Perplexity, OVHcloud, Berget, vLLM, Ollama, any custom base URL); request differences between
 * them live in `openai-provider-quirks.ts`, response variants are read by the shared mappers.
 *
 * @example
 * const engine = createEngine({ provider: 'mistral', model: 'mistral-large-latest' });
 * const result = await generate(engine, { messages: [{ role: 'user', content: 'Hi' }] }, { apiKey: tenantKey });
 */
export function createOpenAIAdapter(
  provider: string,
  endpoint: OpenAIEndpoint = bearerEndpoint(provider),
): ProviderAdapter {
  const post = async (
    call: CallContext,
    operation: 'chat/completions' | 'embeddings',
    request: { model: string },
    body: unknown,
    stream = false,
  ): Promise<TransportResponse> => {
    try {
      return await sendUpstream(
        provider,
        withoutAuthHeaders(call),
        {
          url: endpoint.url(call, operation, request),
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: stream ? 'text/event-stream' : 'application/json',
            ...endpoint.authHeaders(call),
          },
          body: JSON.stringify(body),
        },
        readOpenAIError,
      );
    } catch (error) {
      throw refineOpenAIError(provider, error);
    }
  };

  return {
    provider,
    async generate(request: ChatRequest, call: CallContext) {
      const quirks = quirksOf(provider, call.credential.fields);
      const body = toOpenAIRequest(request, { stream: false, quirks });
      const response = await post(call, 'chat/completions', request, body);
      return fromOpenAIResponse(provider, await readJson(provider, response, call.signal));
    },
    stream(request: ChatRequest, call: CallContext) {
      return fromOpenAIStream(
        async () => {
          const quirks = quirksOf(provider, call.credential.fields);
          const body = toOpenAIRequest(request, { stream: true, quirks });
          const response = await post(call, 'chat/completions', request, body, true);
          return parseSseBatches(response.body);
        },
        { provider, model: request.model, signal: call.signal },
      );
    },
    async embed(request: EmbedRequest, call: CallContext) {
      const quirks = quirksOf(provider, call.credential.fields);
      const response = await post(call, 'embeddings', request, toOpenAIEmbeddingRequest(request, quirks));
      return fromOpenAIEmbeddingResponse(provider, await readJson(provider, response, call.signal), request);
    },
  };
}
