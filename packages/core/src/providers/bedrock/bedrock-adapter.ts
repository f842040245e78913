import { randomUUID } from 'node:crypto';
import { AuthenticationError } from '../../errors.js';
import type { TransportResponse } from '../../transport/transport.js';
import type { ChatRequest } from '../../types/index.js';
import type { CallContext, ProviderAdapter } from '../adapter.js';
import { joinUrl, readJson, safeJson, transportError } from '../http-call.js';
import { authorizeBedrockRequest } from './authorize-bedrock-request.js';
import { bedrockError, readBedrockError } from './bedrock-errors.js';
import { fromBedrockStream } from './bedrock-stream.js';
import { fromBedrockResponse } from './from-bedrock-response.js';
import { readEventStream } from './read-event-stream.js';
import { toBedrockRequest } from './to-bedrock-request.js';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;

/**
 * The AWS Bedrock Converse / ConverseStream adapter. Authenticates each call with its own
 * credential: a Bedrock API key (Bearer) or an access key pair (SigV4).
 *
 * @example
 * const engine = createEngine({ provider: 'bedrock', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' });
 * await generate(engine, { messages }, { apiKey: { accessKeyId, secretAccessKey, region: 'us-east-1' } });
 */
export function createBedrockAdapter(provider: string): ProviderAdapter {
  return {
    provider,
    async generate(request, call) {
      const response = await send(provider, request, call, 'converse');
      const body = await readJson(provider, response, call.signal);
      return fromBedrockResponse(body, { provider, id: responseId(response), model: request.model });
    },
    async *stream(request, call) {
      const response = await send(provider, request, call, 'converse-stream');
      const context = { provider, id: responseId(response), model: request.model };
      try {
        yield* fromBedrockStream(readEventStream(provider, response.body), context);
      } catch (error) {
        throw transportError(provider, error, call.signal);
      }
    },
  };
}

/** Bedrock has no response id; its request id is the closest thing and what AWS support asks for. */
function responseId(response: TransportResponse): string {
  return response.headers['x-amzn-requestid'] ?? `bedrock-${randomUUID()}`;
}

function endpoint(provider: string, call: CallContext): string {
  const { baseURL, region } = call.credential.fields;
  if (baseURL) return baseURL;
  if (!region || !REGION.test(region)) {
    throw new AuthenticationError(`The credential for provider "${provider}" needs a valid "region"`, {
      provider,
    });
  }
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

/** Caller headers that do not collide, in any letter case, with a header the signature covers. */
function extraHeaders(call: CallContext, own: Record<string, string>): Record<string, string> {
  const taken = new Set(Object.keys(own).map((name) => name.toLowerCase()));
  taken.add('host');
  return Object.fromEntries(
    Object.entries(call.headers ?? {}).filter(([name]) => !taken.has(name.toLowerCase())),
  );
}

/**
 * Sends one Converse call. Not `sendUpstream`: AWS names its errors in the `x-amzn-errortype`
 * header, which an error-body reader cannot see, and uses 400/403 for several unrelated failures.
 */
async function send(
  provider: string,
  request: ChatRequest,
  call: CallContext,
  operation: 'converse' | 'converse-stream',
): Promise<TransportResponse> {
  const url = joinUrl(endpoint(provider, call), `/model/${encodeURIComponent(request.model)}/${operation}`);
  const body = new TextEncoder().encode(JSON.stringify(toBedrockRequest(provider, request)));
  const headers = await authorizeBedrockRequest(provider, call.credential, {
    url,
    headers: {
      'content-type': 'application/json',
      accept: operation === 'converse' ? 'application/json' : 'application/vnd.amazon.eventstream',
    },
    body,
  });
  let response: TransportResponse;
  try {
    response = await call.transport.request({
      url,
      method: 'POST',
      headers: { ...extraHeaders(call, headers), ...headers },
      body,
      ...(call.signal ? { signal: call.signal } : {}),
    });
  } catch (error) {
    throw transportError(provider, error, call.signal);
  }
  if (response.status >= 200 && response.status < 300) return response;
  let text = '';
  try {
    text = await response.text();
  } catch {
    // An unreadable error body still maps by its type header and status.
  }
  throw bedrockError(
    provider,
    response.status,
    response.headers,
    readBedrockError(safeJson(text), response.headers),
  );
}
