import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../test/support/upstream-server.js';
import { createEngine, isKeyholdError, type StreamEvent, stream } from './index.js';

/*
 * Streams are read in batches, one per body chunk (see transport/event-batches.ts). These tests
 * check, against a real HTTP server writing real chunks, that batching changes neither what a
 * caller sees nor when: a chunk's events are delivered as soon as that chunk arrives, and the
 * events before an error in the same chunk still come first.
 */

const apiKey = 'sk-batches-test-key-000000000001';
const chunk = (fields: string) =>
  `data: {"id":"chatcmpl-b1","object":"chat.completion.chunk","created":1,"model":"gpt-b",${fields}}\n\n`;
const delta = (text: string) =>
  chunk(`"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]`);
const FIRST = delta('one') + delta(' two');
const LAST =
  delta(' three') +
  chunk('"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]') +
  chunk('"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}') +
  'data: [DONE]\n\n';

let upstream: Upstream;
let release: () => void = () => {};
beforeAll(async () => {
  upstream = await startUpstream(async (request, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (request.path.includes('error')) {
      // Text and an error event in one body chunk.
      res.end(
        delta('partial') +
          'data: {"error":{"message":"The server had an error","type":"server_error","code":null}}\n\n',
      );
      return;
    }
    await new Promise<void>((resolve) => res.write(FIRST, () => resolve()));
    // The rest waits until the test has seen the first chunk's events.
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    res.end(LAST);
  });
});
afterAll(() => upstream?.close());

const engine = (path = 'v1') =>
  createEngine({ provider: 'openai', model: 'gpt-b', options: { baseURL: `${upstream.url}/${path}` } });

describe('batched streams', () => {
  it('delivers the first chunk’s events before the next chunk exists, per event and per batch', async () => {
    const perEvent: StreamEvent[] = [];
    const events = stream(engine(), { messages: [{ role: 'user', content: 'hi' }] }, { apiKey });
    for await (const event of events) {
      perEvent.push(event);
      // 'two' came in the first chunk; the upstream has not sent the rest yet.
      if (event.type === 'text-delta' && event.delta === ' two') release();
    }

    const batches: (readonly StreamEvent[])[] = [];
    const batched = stream(engine(), { messages: [{ role: 'user', content: 'hi' }] }, { apiKey });
    for await (const batch of batched.batches()) {
      batches.push(batch);
      if (batches.length === 1) release();
    }
    expect(batches[0]!.map((e) => e.type)).toEqual(['start', 'text-delta', 'text-delta']);
    expect(batches.flat()).toEqual(perEvent);
    expect(perEvent.at(-2)).toEqual({
      type: 'usage',
      usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 },
    });
    expect(perEvent.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('delivers the events before an error in the same chunk, then the typed error', async () => {
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const event of stream(
        engine('error/v1'),
        { messages: [{ role: 'user', content: 'hi' }] },
        { apiKey, maxRetries: 0 },
      )) {
        seen.push(event);
      }
    })().catch((e: unknown) => e);
    expect(seen.map((e) => e.type)).toEqual(['start', 'text-delta']);
    expect(isKeyholdError(error) && error.code).toBe('provider_unavailable');
    expect(String((error as Error).message)).not.toContain(apiKey.slice(-8));
  });
});
