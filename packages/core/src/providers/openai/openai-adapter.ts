import type { ChatRequest, EmbedRequest } from '../../types/index.js';
import type { CallContext, ProviderAdapter } from '../adapter.js';
import { getProviderInfo } from '../catalogue.js';
import { joinUrl, readJson, sendUpstream } from '../http-call.js';
import { fromOpenAIEmbeddingResponse, fromOpenAIResponse } from './from-openai-response.js';
import { readOpenAIError } from './openai-errors.js';
import { readOpenAIStream } from './openai-stream.js';
import { toOpenAIEmbeddingRequest, toOpenAIRequest } from './to-openai-request.js';

/** Where a call goes and how it authenticates; Azure supplies its own. */
export interface OpenAIEndpoint {
  url(call: CallContext, operation: 'chat/completions' | 'embeddings', request: { model: string }): string;
  authHeaders(call: CallContext): Record<string, string>;
}

function bearerEndpoint(provider: string): OpenAIEndpoint {
  const defaultBaseURL = getProviderInfo(provider)?.defaultBaseURL;
  return {
    url(call, operation) {
      const base = call.credential.fields.baseURL ?? defaultBaseURL;
      if (!base) throw new TypeError(`No base URL for provider "${provider}"`);
      return joinUrl(base, operation);
    },
    authHeaders(call): Record<string, string> {
      const key = call.credential.secrets.apiKey;
      // Ollama runs without a key: send no Authorization header rather than an empty bearer.
      return key ? { authorization: `Bearer ${key.reveal()}` } : {};
    },
  };
}

/**
 * The OpenAI Chat Completions and Embeddings adapter. Serves OpenAI and every catalogue provider
 * whose wire format is `openai` (Mistral, Groq, Together, Fireworks, DeepSeek, xAI, OpenRouter,
 * Perplexity, OVHcloud, Berget, vLLM, Ollama, any custom base URL).
 */
export function createOpenAIAdapter(
  provider: string,
  endpoint: OpenAIEndpoint = bearerEndpoint(provider),
): ProviderAdapter {
  const post = (call: CallContext, url: string, body: unknown) =>
    sendUpstream(
      provider,
      call,
      {
        url,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...endpoint.authHeaders(call),
        },
        body: JSON.stringify(body),
      },
      readOpenAIError,
    );

  return {
    provider,
    async generate(request: ChatRequest, call: CallContext) {
      const response = await post(
        call,
        endpoint.url(call, 'chat/completions', request),
        toOpenAIRequest(provider, request, { stream: false }),
      );
      return fromOpenAIResponse(provider, await readJson(provider, response, call.signal));
    },
    stream(request: ChatRequest, call: CallContext) {
      // The generator itself sends the request on first iteration; returning it directly (instead
      // of delegating with `yield*`) saves an async-generator hop per event.
      return readOpenAIStream(
        provider,
        () =>
          post(
            call,
            endpoint.url(call, 'chat/completions', request),
            toOpenAIRequest(provider, request, { stream: true }),
          ),
        call.signal,
      );
    },
    async embed(request: EmbedRequest, call: CallContext) {
      const response = await post(
        call,
        endpoint.url(call, 'embeddings', request),
        toOpenAIEmbeddingRequest(request),
      );
      return fromOpenAIEmbeddingResponse(
        provider,
        await readJson(provider, response, call.signal),
        request.model,
      );
    },
  };
}
