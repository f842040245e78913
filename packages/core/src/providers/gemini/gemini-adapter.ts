import { randomUUID } from 'node:crypto';
import { AuthenticationError, isKeyholdError } from '../../errors.js';
import { parseSse } from '../../transport/sse.js';
import type { TransportResponse } from '../../transport/transport.js';
import type { CallContext, ProviderAdapter } from '../adapter.js';
import { readJson, sendUpstream } from '../http-call.js';
import { fromGeminiResponse } from './from-gemini-response.js';
import { type GeminiMethod, geminiUrl, normaliseGeminiModel } from './gemini-endpoint.js';
import { type GeminiErrorInfo, geminiError, readGeminiError } from './gemini-errors.js';
import { fromGeminiStream } from './gemini-stream.js';
import type { GeminiResponse } from './gemini-wire.js';
import { fromGeminiEmbedResponse, toGeminiEmbedRequest } from './map-gemini-embeddings.js';
import { toGeminiRequest } from './to-gemini-request.js';

/**
 * The Google Gemini API adapter (`generateContent`, `streamGenerateContent`,
 * `batchEmbedContents`). It holds no key and no per-call state: the key is read from the call's
 * credential when the request headers are built and sent only as `x-goog-api-key`.
 *
 * @example
 * const engine = createEngine({ provider: 'gemini', model: 'gemini-2.5-flash' });
 * const { content } = await generate(engine, { messages: [{ role: 'user', content: 'Hi' }] }, { apiKey });
 */
export function createGeminiAdapter(provider: string): ProviderAdapter {
  async function send(
    call: CallContext,
    model: string,
    method: GeminiMethod,
    body: unknown,
  ): Promise<TransportResponse> {
    const url = geminiUrl(call.credential, provider, model, method);
    const key = call.credential.secrets.apiKey;
    if (!key) throw new AuthenticationError(`No API key for provider "${provider}"`, { provider });
    // What the error body said, kept only for this call: Gemini reports a bad key with a 400,
    // which the shared status mapping would call an invalid request.
    let info: GeminiErrorInfo = {};
    try {
      return await sendUpstream(
        provider,
        call,
        {
          url,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(method === 'streamGenerateContent' ? { accept: 'text/event-stream' } : {}),
            'x-goog-api-key': key.reveal(),
          },
          body: JSON.stringify(body),
        },
        (errorBody) => {
          info = readGeminiError(errorBody);
          return info;
        },
      );
    } catch (error) {
      if (isKeyholdError(error) && error.upstreamStatus !== undefined && info.authenticationFailed) {
        throw geminiError(provider, error.upstreamStatus, {}, info);
      }
      throw error;
    }
  }

  return {
    provider,

    async generate(request, call) {
      const model = normaliseGeminiModel(request.model, provider);
      const response = await send(call, model, 'generateContent', toGeminiRequest(request, provider));
      const body = (await readJson(provider, response, call.signal)) as GeminiResponse;
      return fromGeminiResponse(body, { model, fallbackId: `gemini-${randomUUID()}` });
    },

    async *stream(request, call) {
      const model = normaliseGeminiModel(request.model, provider);
      const response = await send(call, model, 'streamGenerateContent', toGeminiRequest(request, provider));
      yield* fromGeminiStream(parseSse(response.body), {
        provider,
        model,
        fallbackId: `gemini-${randomUUID()}`,
        ...(call.signal ? { signal: call.signal } : {}),
      });
    },

    async embed(request, call) {
      const model = normaliseGeminiModel(request.model, provider);
      const response = await send(call, model, 'batchEmbedContents', toGeminiEmbedRequest(request, model));
      const body = await readJson(provider, response, call.signal);
      return fromGeminiEmbedResponse(body, { provider, model, count: request.input.length });
    },
  };
}
