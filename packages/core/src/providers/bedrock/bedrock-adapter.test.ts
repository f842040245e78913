import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryKey } from '../../../test/support/leaks.js';
import { type RecordedRequest, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import { createEngine, generate } from '../../engine.js';
import { AuthenticationError } from '../../errors.js';
import { createUndiciTransport, type Transport } from '../../transport/transport.js';
import type { ChatInput } from '../../types/index.js';
import { converseText, readFixture, sendConverse } from './testing/bedrock-wire.js';
import { PNG, RICH_REQUEST, RICH_WIRE } from './testing/rich-request.js';

/** The Converse content blocks these tests read back. */
interface WireBlock {
  text?: string;
  image?: { format: string; source: { bytes: string } };
  toolResult?: { toolUseId: string; content: { text?: string; json?: unknown }[] };
}

describe('bedrock adapter over HTTP', () => {
  let upstream: Upstream;
  let respond: (request: RecordedRequest, res: ServerResponse) => void;
  const engine = (model = RICH_REQUEST.model) =>
    createEngine({ provider: 'bedrock', model, options: { baseURL: upstream.url } });

  beforeAll(async () => {
    upstream = await startUpstream((request, res) => respond(request, res));
  });
  afterAll(async () => {
    await upstream.close();
  });

  it('sends the rich request field by field: URL, method, headers, exact body, the Bearer key', async () => {
    respond = (_request, res) => sendConverse(res, readFixture('converse-text.json'), 'req-rich-1');
    const key = canaryKey('ABSK');
    const { model: _model, ...input } = RICH_REQUEST;
    const result = await generate(engine(), input, {
      apiKey: { apiKey: key, region: 'us-east-1' },
      headers: { 'x-tenant-trace': 't-1' },
    });
    const request = upstream.requests.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(request.headers.authorization).toBe(`Bearer ${key}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.accept).toBe('application/json');
    expect(request.headers['x-tenant-trace']).toBe('t-1');
    // No SigV4 material on a Bearer call.
    expect(request.headers['x-amz-date']).toBeUndefined();
    expect(request.headers['x-amz-security-token']).toBeUndefined();
    expect(request.body).toEqual(RICH_WIRE);
    expect(request.headers['content-length']).toBe(String(request.rawBody.length));
    expect(result.id).toBe('req-rich-1');
    expect(result.model).toBe(RICH_REQUEST.model);
  });

  it('generates an id when Bedrock sends no x-amzn-requestid', async () => {
    respond = (_request, res) => {
      const text = JSON.stringify(readFixture('converse-text.json'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
    };
    const result = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'hi' }] },
      { apiKey: { apiKey: canaryKey('ABSK'), region: 'us-east-1' } },
    );
    expect(result.id).toMatch(/^bedrock-[0-9a-f-]{36}$/);
  });

  it('without a baseURL the endpoint is bedrock-runtime.<region>.amazonaws.com', async () => {
    respond = (_request, res) => sendConverse(res, converseText('regional'));
    const real = createUndiciTransport();
    const urls: string[] = [];
    // Reroutes to the local server, keeping the URL the adapter built for the assertion.
    const rerouting: Transport = {
      request: (req) => {
        urls.push(req.url);
        const url = new URL(req.url);
        return real.request({ ...req, url: `${upstream.url}${url.pathname}` });
      },
    };
    const regional = createEngine({ provider: 'bedrock', model: 'amazon.nova-lite-v1:0' });
    const result = await generate(
      regional,
      { messages: [{ role: 'user', content: 'hi' }] },
      { apiKey: { apiKey: canaryKey('ABSK'), region: 'eu-central-1' }, transport: rerouting },
    );
    expect(result.content).toBe('regional');
    expect(urls).toEqual([
      'https://bedrock-runtime.eu-central-1.amazonaws.com/model/amazon.nova-lite-v1%3A0/converse',
    ]);
  });

  it('an invalid region never becomes a hostname', async () => {
    const before = upstream.requests.length;
    const regional = createEngine({ provider: 'bedrock', model: 'amazon.nova-lite-v1:0' });
    const error = await generate(
      regional,
      { messages: [{ role: 'user', content: 'hi' }] },
      { apiKey: { apiKey: canaryKey('ABSK'), region: 'evil.example.com#' } },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(upstream.requests.length).toBe(before);
  });

  describe('round trips: neutral → wire → (server answers from the wire) → neutral', () => {
    it('tool calls and tool results', async () => {
      // The server plays a model that reads the tool results it was sent and calls the next tool.
      respond = (request, res) => {
        const results = (request.body.messages as { content: WireBlock[] }[])
          .flatMap((m) => m.content)
          .flatMap((block) => (block.toolResult ? [block.toolResult] : []));
        sendConverse(res, {
          output: {
            message: {
              role: 'assistant',
              content: [
                { text: `got ${results.length} results` },
                {
                  toolUse: {
                    toolUseId: `next_${results[0]!.toolUseId}`,
                    name: request.body.toolConfig.toolChoice.tool.name,
                    input: { echoed: results[0]!.content[0]!.json, alsoText: results[1]!.content[0]!.text },
                  },
                },
              ],
            },
          },
          stopReason: 'tool_use',
          usage: { inputTokens: 30, outputTokens: 9, totalTokens: 39 },
        });
      };
      const input: ChatInput = {
        messages: RICH_REQUEST.messages,
        tools: RICH_REQUEST.tools!,
        toolChoice: { name: 'get_weather' },
      };
      const result = await generate(engine(), input, {
        apiKey: { apiKey: canaryKey('ABSK'), region: 'us-east-1' },
      });
      expect(result.content).toBe('got 2 results');
      expect(result.toolCalls).toEqual([
        {
          id: 'next_tooluse_1',
          name: 'get_weather',
          arguments: '{"echoed":{"tempC":21},"alsoText":"14:05"}',
        },
      ]);
      expect(result.finishReason).toBe('tool_calls');
      expect(result.usage).toEqual({ inputTokens: 30, outputTokens: 9, totalTokens: 39 });
    });

    it('multi-part content (text and images) and every finish reason', async () => {
      const stopReasons = {
        end_turn: 'stop',
        stop_sequence: 'stop',
        max_tokens: 'length',
        tool_use: 'tool_calls',
        guardrail_intervened: 'content_filter',
        content_filtered: 'content_filter',
      } as const;
      for (const [stopReason, finish] of Object.entries(stopReasons)) {
        respond = (request, res) => {
          const blocks = request.body.messages[0].content as WireBlock[];
          const described = blocks
            .map((b) => (b.image ? `${b.image.format}:${b.image.source.bytes.length}` : 'text'))
            .join(',');
          sendConverse(res, {
            output: { message: { role: 'assistant', content: [{ text: described }] } },
            stopReason,
            usage: {
              inputTokens: 1,
              outputTokens: 1,
              totalTokens: 2,
              cacheReadInputTokens: 3,
              cacheWriteInputTokens: 4,
            },
          });
        };
        const result = await generate(
          engine(),
          {
            messages: [
              {
                role: 'user',
                content: [
                  { type: 'text', text: 'look' },
                  { type: 'image', data: PNG, mediaType: 'image/webp' },
                  { type: 'image', url: `data:image/png;base64,${PNG}` },
                ],
              },
            ],
          },
          { apiKey: { apiKey: canaryKey('ABSK'), region: 'us-east-1' } },
        );
        expect(result.content).toBe(`text,webp:${PNG.length},png:${PNG.length}`);
        expect(result.finishReason).toBe(finish);
        expect(result.usage).toEqual({
          inputTokens: 8,
          outputTokens: 1,
          totalTokens: 9,
          cachedInputTokens: 3,
          cacheWriteInputTokens: 4,
        });
      }
    });
  });
});
