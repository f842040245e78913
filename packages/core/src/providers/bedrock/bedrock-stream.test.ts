import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { type RecordedRequest, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import { collectStream } from '../../collect-stream.js';
import { createEngine, generate, stream } from '../../engine.js';
import {
  ContextLengthError,
  InvalidRequestError,
  type KeyholdError,
  ProviderUnavailableError,
  RateLimitError,
} from '../../errors.js';
import type { StreamEvent } from '../../types/index.js';
import {
  type EventStreamOptions,
  encodeEvent,
  encodeException,
  readFixture,
  readStreamFixture,
  sendConverse,
  sendEventStream,
} from './testing/bedrock-wire.js';

const MODEL = 'amazon.nova-pro-v1:0';

describe('bedrock ConverseStream', () => {
  let upstream: Upstream;
  let key: string;
  let respond: (request: RecordedRequest, res: ServerResponse) => void | Promise<void>;
  const engine = () =>
    createEngine({ provider: 'bedrock', model: MODEL, options: { baseURL: upstream.url } });

  beforeAll(async () => {
    upstream = await startUpstream((request, res) => respond(request, res));
  });
  afterAll(async () => {
    await upstream.close();
  });

  function serve(fixture: string, options: EventStreamOptions = {}, extra: Uint8Array[] = []) {
    respond = (_request, res) =>
      sendEventStream(res, [...readStreamFixture(fixture).map((e) => encodeEvent(e)), ...extra], options);
  }

  async function events(): Promise<StreamEvent[]> {
    key = canaryKey('ABSK');
    const out: StreamEvent[] = [];
    for await (const event of stream(
      engine(),
      { messages: [{ role: 'user', content: 'go' }] },
      { apiKey: { apiKey: key, region: 'us-east-1' }, maxRetries: 0 },
    )) {
      out.push(event);
    }
    return out;
  }

  /** The error the stream ends with (the tests then assert its class and fields). */
  async function failure(): Promise<KeyholdError> {
    return events().then(
      () => {
        throw new Error('the stream completed without an error');
      },
      (e: KeyholdError) => e,
    );
  }

  it('text: start (request id), deltas, usage, finish — over the binary event-stream', async () => {
    serve('stream-text.events.jsonl');
    expect(await events()).toEqual([
      { type: 'start', id: 'b8f1c2d4-0000-4000-8000-5e1ec7ab1e00', model: MODEL },
      { type: 'text-delta', delta: 'Three' },
      { type: 'text-delta', delta: " r's: st-" },
      { type: 'text-delta', delta: 'r-awbe-r-r-y.' },
      { type: 'usage', usage: { inputTokens: 18, outputTokens: 14, totalTokens: 32 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const request = upstream.requests.at(-1)!;
    expect(request.url).toBe('/model/amazon.nova-pro-v1%3A0/converse-stream');
    expect(request.headers.authorization).toBe(`Bearer ${key}`);
    expect(request.headers.accept).toBe('application/vnd.amazon.eventstream');
    expect(request.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'go' }] }] });
  });

  it('tool calls: id and name first, incremental argument pieces, a no-argument tool closed as {}', async () => {
    serve('stream-tool-calls.events.jsonl');
    const out = await events();
    expect(out.filter((e) => e.type === 'tool-call-delta')).toEqual([
      {
        type: 'tool-call-delta',
        index: 0,
        id: 'tooluse_w3aTh3r0001',
        name: 'get_weather',
        argumentsDelta: '',
      },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '"Lyon","unit":' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '"celsius"}' },
      {
        type: 'tool-call-delta',
        index: 1,
        id: 'tooluse_r3fr35h0002',
        name: 'refresh_list',
        argumentsDelta: '',
      },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{}' },
    ]);
    expect(out.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('a streamed tool-call answer collects to the same result as the non-streamed Converse one', async () => {
    serve('stream-tool-calls.events.jsonl');
    key = canaryKey('ABSK');
    const apiKey = { apiKey: key, region: 'us-east-1' };
    const streamed = await collectStream(
      stream(engine(), { messages: [{ role: 'user', content: 'go' }] }, { apiKey, maxRetries: 0 }),
    );
    respond = (_request, res) => sendConverse(res, readFixture('converse-tool-calls.json'), streamed.id);
    const unstreamed = await generate(engine(), { messages: [{ role: 'user', content: 'go' }] }, { apiKey });
    expect(streamed).toEqual(unstreamed);
    expect(unstreamed.toolCalls).toEqual([
      { id: 'tooluse_w3aTh3r0001', name: 'get_weather', arguments: '{"city":"Lyon","unit":"celsius"}' },
      { id: 'tooluse_r3fr35h0002', name: 'refresh_list', arguments: '{}' },
    ]);
  });

  it('reasoning deltas (signature skipped), cached-token usage, max_tokens → length', async () => {
    serve('stream-reasoning.events.jsonl');
    const out = await events();
    expect(
      out.filter((e) => e.type === 'reasoning-delta').map((e) => (e as { delta: string }).delta),
    ).toEqual(['Count letters: ', "b-a-n-a-n-a has three a's."]);
    expect(out.filter((e) => e.type === 'text-delta')).toHaveLength(2);
    expect(out.at(-2)).toEqual({
      type: 'usage',
      usage: {
        inputTokens: 40 + 1024 + 256,
        outputTokens: 77,
        totalTokens: 40 + 1024 + 256 + 77,
        cachedInputTokens: 1024,
        cacheWriteInputTokens: 256,
      },
    });
    expect(out.at(-1)).toEqual({ type: 'finish', finishReason: 'length' });
  });

  it('metadata before messageStop and no messageStart (as some recordings have it) still completes', async () => {
    serve('stream-metadata-first.events.jsonl');
    const out = await events();
    expect(out[0]).toMatchObject({ type: 'start' });
    expect(out.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 90, outputTokens: 12, totalTokens: 102 } },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
  });

  it.each([
    ['every frame split across many small TCP writes', { chunkBytes: 7 }],
    ['all frames in one write', { coalesce: true }],
    ['uneven writes straddling frame boundaries', { chunkBytes: 97 }],
  ])('decodes frames incrementally: %s', async (_name, options) => {
    serve('stream-tool-calls.events.jsonl', options);
    const out = await events();
    expect(out).toHaveLength(1 + 1 + 6 + 2);
    expect(out.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('a connection cut in the middle of a frame throws ProviderUnavailableError', async () => {
    const frames = readStreamFixture('stream-text.events.jsonl').map((e) => encodeEvent(e));
    const upToThird = frames.slice(0, 3).reduce((n, f) => n + f.length, 0);
    respond = (_request, res) => sendEventStream(res, frames, { cutAfterBytes: upToThird + 10 });
    const error = await failure();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.transient).toBe(true);
  });

  it('a body that ends cleanly inside a frame throws ProviderUnavailableError', async () => {
    const frames = readStreamFixture('stream-text.events.jsonl').map((e) => encodeEvent(e));
    const all = frames.reduce((n, f) => n + f.length, 0);
    respond = (_request, res) => sendEventStream(res, frames, { endAfterBytes: all - 5 });
    const error = await failure();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('bedrock stream ended in the middle of an event');
  });

  it('a body that ends between frames before messageStop/metadata throws ProviderUnavailableError', async () => {
    const frames = readStreamFixture('stream-text.events.jsonl').map((e) => encodeEvent(e));
    respond = (_request, res) => sendEventStream(res, frames.slice(0, 5));
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const event of stream(
        engine(),
        { messages: [{ role: 'user', content: 'go' }] },
        { apiKey: { apiKey: canaryKey('ABSK'), region: 'us-east-1' }, maxRetries: 0 },
      )) {
        seen.push(event);
      }
    })().catch((e) => e);
    expect(seen.map((e) => e.type)).toEqual(['start', 'text-delta', 'text-delta', 'text-delta']);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('bedrock stream ended before completion');

    // messageStop arrived, metadata did not: still incomplete.
    respond = (_request, res) => sendEventStream(res, frames.slice(0, 6));
    expect(await failure()).toBeInstanceOf(ProviderUnavailableError);
  });

  it('a frame with a bad checksum is a malformed stream', async () => {
    const frames = readStreamFixture('stream-text.events.jsonl').map((e) => encodeEvent(e));
    const broken = Uint8Array.from(frames[1]!);
    broken[broken.length - 8] = broken[broken.length - 8]! ^ 0xff;
    respond = (_request, res) => sendEventStream(res, [frames[0]!, broken, ...frames.slice(2)]);
    const error = await failure();
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('bedrock sent a malformed event-stream frame');
  });

  it.each([
    ['throttlingException', RateLimitError, 429],
    ['modelStreamErrorException', ProviderUnavailableError, 424],
    ['internalServerException', ProviderUnavailableError, 500],
    ['serviceUnavailableException', ProviderUnavailableError, 503],
    ['validationException', InvalidRequestError, 400],
  ] as const)('an in-stream %s frame becomes a %s', async (type, ErrorClass, status) => {
    const frames = readStreamFixture('stream-text.events.jsonl').map((e) => encodeEvent(e));
    respond = (_request, res) =>
      sendEventStream(res, [
        ...frames.slice(0, 2),
        encodeException(type, `Something went wrong for key ${key.slice(0, 14)}`),
      ]);
    const error = await failure();
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error.upstreamStatus).toBe(status);
    expect(error.providerCode).toBe(type.charAt(0).toUpperCase() + type.slice(1));
    expectNoKeyIn(allRenderings(error), key);
  });

  it('an in-stream validationException about input length is a ContextLengthError', async () => {
    respond = (_request, res) =>
      sendEventStream(res, [
        encodeException('validationException', 'Input is too long for requested model.'),
      ]);
    expect(await failure()).toBeInstanceOf(ContextLengthError);
  });

  it('leaving the loop early releases the upstream connection', async () => {
    let closed: () => void = () => {};
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    respond = async (_request, res) => {
      res.on('close', () => closed());
      const [start, first] = readStreamFixture('stream-text.events.jsonl').map((e) => encodeEvent(e));
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
      res.write(start);
      res.write(first);
      // …and never finishes on its own.
    };
    for await (const event of stream(
      engine(),
      { messages: [{ role: 'user', content: 'go' }] },
      { apiKey: { apiKey: canaryKey('ABSK'), region: 'us-east-1' }, maxRetries: 0 },
    )) {
      if (event.type === 'text-delta') break;
    }
    const outcome = await Promise.race([
      connectionClosed.then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 3000)),
    ]);
    expect(outcome).toBe('closed');
  });
});
