import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import type { GatewayConfig } from '../src/index.js';
import { type Harness, startGateway, virtualKey } from './support/gateway-harness.js';
import { openAIServerError, openAIWire } from './support/metered-upstream.js';

/*
 * A response's last bytes wait for the usage sink's `durable()`: the ledger journals the events of
 * one event-loop turn with one write at the end of that turn (group commit), and its promise — a
 * response the client saw complete has its usage event in the journal — holds only if the gateway
 * waits for that write. Here the sink's `durable()` is held open by the test: the non-streamed
 * answer, a stream's finish chunk and `[DONE]`, and an error answer must not arrive until it is
 * released.
 */

const MODEL = 'openai/held-model';
const key = virtualKey('k-held');
const anthropicKey = virtualKey('k-held-anthropic');
let upstream: Upstream;
let h: Harness;
/** While set, `durable()` returns this gate's promise. */
let gate: { promise: Promise<void>; release: () => void } | undefined;
let asked = 0;

const hold = () => {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  gate = {
    promise,
    release: () => {
      gate = undefined;
      release();
    },
  };
  return gate;
};

beforeAll(async () => {
  // Stream events 20 ms apart: content leaves as it arrives, in earlier turns than `finish`.
  upstream = await startUpstream(openAIWire({ usage: { prompt: 3, completion: 2 }, chunkDelayMs: 20 }));
  const config: GatewayConfig = {
    tenants: [
      {
        id: 'held-tenant',
        credentials: [
          {
            id: 'held-cred',
            provider: 'openai',
            secrets: { apiKey: 'sk-held-test-0000000' },
            fields: { baseURL: `${upstream.url}/v1` },
          },
        ],
        virtualKeys: [key.entry],
      },
      {
        id: 'held-anthropic-tenant',
        credentials: [
          {
            id: 'held-anthropic-cred',
            provider: 'anthropic',
            secrets: { apiKey: 'sk-ant-held-test-0000000' },
            fields: { baseURL: upstream.url },
          },
        ],
        virtualKeys: [anthropicKey.entry],
      },
    ],
  };
  h = await startGateway(config, {
    durable: () => {
      asked++;
      return gate?.promise;
    },
  });
});
afterAll(async () => {
  await h?.close();
  await upstream?.close();
});

const post = (body: Record<string, unknown>) =>
  fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], ...body }),
  });

/** Settles to 'pending' if `p` has not settled within `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> =>
  Promise.race([p, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

describe('responses wait for the usage sink to make their events durable', () => {
  it('non-streamed: the answer is sent only once durable() resolved', async () => {
    const g = hold();
    const before = h.usage.length;
    const response = post({});
    await h.sink.waitFor(before + 1);
    expect(await within(response, 150)).toBe('pending');
    g.release();
    const res = await response;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe('Hello there');
  });

  it('streamed: content flows as it arrives, the finish chunk and [DONE] only once durable() resolved', async () => {
    const g = hold();
    const before = h.usage.length;
    const res = await post({ stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let reading: Promise<boolean> | undefined;
    /** Reads on; true at the end. One read at a time, kept across `within` timeouts. */
    const read = () => {
      reading ??= reader.read().then((chunk) => {
        reading = undefined;
        if (!chunk.done) text += decoder.decode(chunk.value, { stream: true });
        return chunk.done;
      });
      return reading;
    };
    await h.sink.waitFor(before + 1);
    // Everything that is already here, and nothing more while the gate is shut.
    while ((await within(read(), 150)) === false);
    expect(text).toContain('"content":" there"');
    expect(text).not.toContain('"finish_reason":"stop"');
    expect(text).not.toContain('[DONE]');
    g.release();
    while (!(await read()));
    expect(text).toContain('"finish_reason":"stop"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('a stream whose upstream body goes on after finish gets its finish frames out at once', async () => {
    // Anthropic's `message_stop` ends the message, but this upstream keeps its body open 1.5 s more:
    // the output held while the usage event was journaled must be let go, not kept until the end.
    const sse = (type: string, data: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    upstream.handle((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        sse('message_start', {
          message: {
            id: 'msg_held',
            type: 'message',
            role: 'assistant',
            model: 'claude-held',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 3, output_tokens: 1 },
          },
        }) +
          sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
          sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hi' } }) +
          sse('content_block_stop', { index: 0 }) +
          sse('message_delta', {
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: 2 },
          }) +
          sse('message_stop', {}),
      );
      setTimeout(() => res.end(), 1_500);
    });
    const g = hold();
    const before = h.usage.length;
    const started = Date.now();
    const response = fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${anthropicKey.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'anthropic/claude-held',
        stream: true,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    });
    await h.sink.waitFor(before + 1);
    g.release();
    const res = await response;
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('"finish_reason":"stop"')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    expect(text).toContain('"finish_reason":"stop"');
    expect(Date.now() - started).toBeLessThan(1_000);
    await reader.cancel();
  });

  it('an upstream failure: the error answer is sent only once durable() resolved', async () => {
    upstream.handle(openAIServerError);
    const g = hold();
    const before = h.usage.length;
    const response = post({});
    await h.sink.waitFor(before + 1);
    expect(h.usage.at(-1)).toMatchObject({ status: 'error' });
    expect(await within(response, 150)).toBe('pending');
    g.release();
    expect((await response).status).toBe(502);
  });

  it('asks the sink on every call', () => {
    expect(asked).toBeGreaterThanOrEqual(3);
  });
});
