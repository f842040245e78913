import type { ServerResponse } from 'node:http';
import {
  encodeEvent,
  sendConverse,
  sendEventStream,
} from '../../../core/src/providers/bedrock/testing/bedrock-wire.js';
import { type RecordedRequest, sendJson, sendSse } from '../../../core/test/support/upstream-server.js';

/**
 * One provider as the acceptance tests see it: a local upstream handler speaking the provider's
 * wire format (hand-made bodies modelled on the recorded fixtures), the credential fields that
 * point the adapter at it, and where the provider's key travels on the wire.
 *
 * Every upstream answers the same script: a text answer `Hello from <provider>`, a
 * `get_weather({"city":"Paris"})` tool call when the request offers tools, streams of two text
 * pieces with usage, and (where the provider embeds) vectors `[0.25, -0.5, 1]` per input.
 */
export interface ProviderCase {
  provider: string;
  model: string;
  embeddings: boolean;
  fields(upstreamUrl: string): Record<string, string>;
  keyOf(request: RecordedRequest): string | undefined;
  /** Answers a request; `status401Echo` makes it reject with a body that quotes the key. */
  handle(request: RecordedRequest, res: ServerResponse): void | Promise<void>;
  reject(request: RecordedRequest, res: ServerResponse): void;
}

export const TEXT = (provider: string) => `Hello from ${provider}`;
export const VECTOR = [0.25, -0.5, 1];
const PIECES = (provider: string) => ['Hello ', `from ${provider}`];

const wantsTools = (r: RecordedRequest) =>
  Array.isArray(r.body?.tools) ? r.body.tools.length > 0 : Boolean(r.body?.toolConfig);

const bearer = (r: RecordedRequest) => {
  const h = r.headers.authorization;
  return typeof h === 'string' ? h.replace(/^Bearer /, '') : undefined;
};

/** OpenAI's chat and embeddings wire, answering as `name` (Azure serves the same wire). */
function answerOpenAIWire(name: string) {
  return async (r: RecordedRequest, res: ServerResponse): Promise<void> => {
    if (r.path.endsWith('/embeddings')) {
      const inputs: string[] = Array.isArray(r.body.input) ? r.body.input : [r.body.input];
      return sendJson(res, 200, {
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: VECTOR })),
        model: r.body.model,
        usage: { prompt_tokens: 4, total_tokens: 4 },
      });
    }
    const base = { id: 'chatcmpl-up1', created: 1770933883, model: r.body.model, system_fingerprint: 'fp_1' };
    const tool = wantsTools(r);
    if (r.body.stream) {
      const chunk = (delta: unknown, finish: string | null = null) =>
        JSON.stringify({
          ...base,
          object: 'chat.completion.chunk',
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
          usage: null,
        });
      const events = [{ data: chunk({ role: 'assistant', content: '', refusal: null }) }];
      if (tool) {
        events.push({
          data: chunk({
            tool_calls: [
              {
                index: 0,
                id: 'call_up1',
                type: 'function',
                function: { name: 'get_weather', arguments: '' },
              },
            ],
          }),
        });
        events.push({
          data: chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }),
        });
      } else {
        for (const piece of PIECES(name)) events.push({ data: chunk({ content: piece }) });
      }
      events.push({ data: chunk({}, tool ? 'tool_calls' : 'stop') });
      events.push({
        data: JSON.stringify({
          ...base,
          object: 'chat.completion.chunk',
          choices: [],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }),
      });
      events.push({ data: '[DONE]' });
      return sendSse(res, events);
    }
    const message = tool
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_up1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
          refusal: null,
        }
      : { role: 'assistant', content: TEXT(name), refusal: null };
    return sendJson(res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: tool ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  };
}

const openai: ProviderCase = {
  provider: 'openai',
  model: 'gpt-4o-mini',
  embeddings: true,
  fields: (url) => ({ baseURL: `${url}/v1` }),
  keyOf: bearer,
  handle: answerOpenAIWire('openai'),
  reject(r, res) {
    sendJson(res, 401, {
      error: {
        message: `Incorrect API key provided: ${bearer(r)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
  },
};

const anthropic: ProviderCase = {
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  embeddings: false,
  fields: (url) => ({ baseURL: url }),
  keyOf: (r) => r.headers['x-api-key'] as string | undefined,
  async handle(r, res) {
    const tool = wantsTools(r);
    const usage = {
      input_tokens: 10,
      output_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    if (r.body.stream) {
      const ev = (data: Record<string, unknown>) => ({
        event: data.type as string,
        data: JSON.stringify(data),
      });
      const events = [
        ev({
          type: 'message_start',
          message: {
            id: 'msg_up1',
            type: 'message',
            role: 'assistant',
            model: r.body.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { ...usage, output_tokens: 1 },
          },
        }),
      ];
      if (tool) {
        events.push(
          ev({
            type: 'content_block_start',
            index: 0,
            content_block: { type: 'tool_use', id: 'toolu_up1', name: 'get_weather', input: {} },
          }),
        );
        events.push(
          ev({
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' },
          }),
        );
      } else {
        events.push(ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
        for (const piece of PIECES('anthropic'))
          events.push(
            ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }),
          );
      }
      events.push(ev({ type: 'content_block_stop', index: 0 }));
      events.push(
        ev({
          type: 'message_delta',
          delta: { stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null },
          usage: { output_tokens: 5 },
        }),
      );
      events.push(ev({ type: 'message_stop' }));
      return sendSse(res, events);
    }
    return sendJson(res, 200, {
      id: 'msg_up1',
      type: 'message',
      role: 'assistant',
      model: r.body.model,
      content: tool
        ? [{ type: 'tool_use', id: 'toolu_up1', name: 'get_weather', input: { city: 'Paris' } }]
        : [{ type: 'text', text: TEXT('anthropic') }],
      stop_reason: tool ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage,
    });
  },
  reject(r, res) {
    sendJson(res, 401, {
      type: 'error',
      error: { type: 'authentication_error', message: `invalid x-api-key ${String(r.headers['x-api-key'])}` },
      request_id: 'req_up401',
    });
  },
};

const gemini: ProviderCase = {
  provider: 'gemini',
  model: 'gemini-2.5-flash',
  embeddings: true,
  fields: (url) => ({ baseURL: url }),
  keyOf: (r) => r.headers['x-goog-api-key'] as string | undefined,
  async handle(r, res) {
    if (r.path.endsWith(':batchEmbedContents')) {
      return sendJson(res, 200, {
        embeddings: (r.body.requests as unknown[]).map(() => ({ values: VECTOR })),
      });
    }
    const tool = wantsTools(r);
    const usageMetadata = { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 };
    const candidate = (parts: unknown[], finishReason?: string) => ({
      content: { parts, role: 'model' },
      ...(finishReason ? { finishReason } : {}),
      index: 0,
    });
    if (r.path.endsWith(':streamGenerateContent')) {
      const chunks = tool
        ? [
            {
              candidates: [
                candidate([{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }], 'STOP'),
              ],
              usageMetadata,
            },
          ]
        : [
            { candidates: [candidate([{ text: PIECES('gemini')[0] }])], modelVersion: r.body.model },
            { candidates: [candidate([{ text: PIECES('gemini')[1] }], 'STOP')], usageMetadata },
          ];
      return sendSse(
        res,
        chunks.map((c) => ({
          data: JSON.stringify({ ...c, modelVersion: 'gemini-2.5-flash', responseId: 'resp-up1' }),
        })),
        { separator: '\r\n\r\n' },
      );
    }
    return sendJson(res, 200, {
      candidates: [
        candidate(
          tool
            ? [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }]
            : [{ text: TEXT('gemini') }],
          'STOP',
        ),
      ],
      usageMetadata,
      modelVersion: 'gemini-2.5-flash',
      responseId: 'resp-up1',
    });
  },
  reject(r, res) {
    sendJson(res, 400, {
      error: {
        code: 400,
        message: `API key not valid. Please pass a valid API key. (${String(r.headers['x-goog-api-key'])})`,
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'API_KEY_INVALID',
            domain: 'googleapis.com',
          },
        ],
      },
    });
  },
};

const bedrock: ProviderCase = {
  provider: 'bedrock',
  model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
  embeddings: false,
  fields: (url) => ({ baseURL: url, region: 'us-east-1' }),
  keyOf: bearer,
  async handle(r, res) {
    const tool = wantsTools(r);
    const usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15 };
    if (r.path.endsWith('/converse-stream')) {
      const frames = [encodeEvent({ eventType: 'messageStart', payload: { role: 'assistant' } })];
      if (tool) {
        frames.push(
          encodeEvent({
            eventType: 'contentBlockStart',
            payload: {
              contentBlockIndex: 0,
              start: { toolUse: { toolUseId: 'tooluse_up1', name: 'get_weather' } },
            },
          }),
        );
        frames.push(
          encodeEvent({
            eventType: 'contentBlockDelta',
            payload: { contentBlockIndex: 0, delta: { toolUse: { input: '{"city":"Paris"}' } } },
          }),
        );
      } else {
        for (const piece of PIECES('bedrock'))
          frames.push(
            encodeEvent({
              eventType: 'contentBlockDelta',
              payload: { contentBlockIndex: 0, delta: { text: piece } },
            }),
          );
      }
      frames.push(encodeEvent({ eventType: 'contentBlockStop', payload: { contentBlockIndex: 0 } }));
      frames.push(
        encodeEvent({ eventType: 'messageStop', payload: { stopReason: tool ? 'tool_use' : 'end_turn' } }),
      );
      frames.push(encodeEvent({ eventType: 'metadata', payload: { usage, metrics: { latencyMs: 100 } } }));
      return sendEventStream(res, frames);
    }
    return sendConverse(res, {
      output: {
        message: {
          role: 'assistant',
          content: tool
            ? [{ toolUse: { toolUseId: 'tooluse_up1', name: 'get_weather', input: { city: 'Paris' } } }]
            : [{ text: TEXT('bedrock') }],
        },
      },
      stopReason: tool ? 'tool_use' : 'end_turn',
      usage,
      metrics: { latencyMs: 100 },
    });
  },
  reject(r, res) {
    const text = JSON.stringify({
      message: `The security token included in the request is invalid: ${bearer(r)}`,
    });
    res.writeHead(403, {
      'content-type': 'application/json',
      'x-amzn-errortype':
        'UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/',
    });
    res.end(text);
  },
};

/** Azure OpenAI: OpenAI's wire under /openai/deployments/{deployment}, keyed by the `api-key` header. */
const azure: ProviderCase = {
  provider: 'azure',
  model: 'gpt-4o',
  embeddings: true,
  fields: (url) => ({ endpoint: url, apiVersion: '2024-10-21', deployment: 'gw-deploy' }),
  keyOf: (r) => (typeof r.headers['api-key'] === 'string' ? r.headers['api-key'] : undefined),
  async handle(r, res) {
    if (!r.path.startsWith('/openai/deployments/gw-deploy/') || r.query.get('api-version') !== '2024-10-21') {
      return sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
    }
    return answerOpenAIWire('azure')(r, res);
  },
  reject(_r, res) {
    sendJson(res, 401, {
      error: {
        code: '401',
        message:
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      },
    });
  },
};

/** Every provider wire format the gateway translates to; each joins the acceptance suite. */
export const PROVIDER_CASES: readonly ProviderCase[] = [openai, azure, anthropic, gemini, bedrock];
