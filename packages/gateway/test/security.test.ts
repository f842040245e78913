import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { canaryKey, expectNoKeyIn } from '../../core/test/support/leaks.js';
import { sendSse, startUpstream } from '../../core/test/support/upstream-server.js';
import type { GatewayConfig } from '../src/index.js';
import { startGateway, virtualKey } from './support/gateway-harness.js';
import { PROVIDER_CASES } from './support/provider-upstreams.js';

const anthropicCase = PROVIDER_CASES.find((c) => c.provider === 'anthropic')!;

describe('leakage', () => {
  it('after a run against upstreams that echo the key in 401 bodies, no log, body or header holds a key fragment', async () => {
    const upstreams = await Promise.all(
      PROVIDER_CASES.map((c) => startUpstream((r, res) => c.reject(r, res))),
    );
    const keys = PROVIDER_CASES.map(() => canaryKey());
    const headerKey = canaryKey('sk-hdr');
    const vk = virtualKey('k');
    const config: GatewayConfig = {
      providers: Object.fromEntries(PROVIDER_CASES.map((c, i) => [c.provider, c.fields(upstreams[i]!.url)])),
      tenants: [
        {
          id: 'acme',
          settings: { allowKeyHeader: true },
          credentials: PROVIDER_CASES.map((c, i) => ({
            id: `cred-${c.provider}`,
            provider: c.provider,
            secrets: { apiKey: keys[i]! },
            fields: c.fields(upstreams[i]!.url),
          })),
          virtualKeys: [vk.entry],
        },
      ],
    };
    const h = await startGateway(config, { maxRetries: 1 });
    const seen: string[] = [];
    const record = async (res: Response) => {
      seen.push(String(res.status), JSON.stringify([...res.headers.entries()]), await res.text());
    };
    try {
      for (const [i, c] of PROVIDER_CASES.entries()) {
        const model = `${c.provider}/${c.model}`;
        const chat = (stream: boolean, extra: Record<string, string> = {}) =>
          fetch(`${h.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${vk.key}`, 'content-type': 'application/json', ...extra },
            body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
          });
        for (const stream of [false, true]) {
          const res = await chat(stream);
          expect(res.status, `${c.provider} stream=${stream}`).toBeGreaterThanOrEqual(400);
          await record(res);
          await record(await chat(stream, { 'x-provider-api-key': headerKey }));
        }
        await record(
          await fetch(`${h.url}/v1/messages`, {
            method: 'POST',
            headers: { 'x-api-key': vk.key, 'content-type': 'application/json' },
            body: JSON.stringify({
              model,
              max_tokens: 5,
              stream: true,
              messages: [{ role: 'user', content: 'hi' }],
            }),
          }),
        );
        if (c.embeddings) {
          await record(
            await fetch(`${h.url}/v1/embeddings`, {
              method: 'POST',
              headers: { authorization: `Bearer ${vk.key}`, 'content-type': 'application/json' },
              body: JSON.stringify({ model, input: 'x' }),
            }),
          );
        }
        // The clients' own error objects must not carry it either.
        const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: vk.key, maxRetries: 0 });
        const sdkError = await openai.chat.completions
          .create({ model, messages: [{ role: 'user', content: 'x' }] })
          .catch((e) => e);
        seen.push(String(sdkError), JSON.stringify(sdkError.error ?? {}));
        const anthropic = new Anthropic({ baseURL: h.url, apiKey: vk.key, maxRetries: 0 });
        const anthropicError = await anthropic.messages
          .create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
          .catch((e) => e);
        seen.push(String(anthropicError), JSON.stringify(anthropicError.error ?? {}));
        expect(upstreams[i]!.requests.length).toBeGreaterThan(0);
      }
      const everything = [...seen, ...h.logs].join('\n');
      // The upstreams really did echo the keys, so the check below is meaningful.
      expect(h.logs.length).toBeGreaterThan(10);
      expectNoKeyIn(everything, ...keys, headerKey);
      expectNoKeyIn(h.logs.join('\n'), vk.key);
    } finally {
      await h.close();
      await Promise.all(upstreams.map((u) => u.close()));
    }
  });
});

describe('isolation', () => {
  it('1,000 concurrent requests from 50 tenants: every upstream request carries its own tenant’s key', async () => {
    const TENANTS = 50;
    const PER_TENANT = 20;
    const upstream = await startUpstream(async (r, res) => {
      // A little jitter so that requests of different tenants interleave in flight.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      return anthropicCase.handle(r, res);
    });
    const keys = Array.from({ length: TENANTS }, (_, i) => canaryKey(`sk-ant-t${i}`));
    const vks = Array.from({ length: TENANTS }, (_, i) => virtualKey(`vk-${i}`));
    const h = await startGateway({
      tenants: keys.map((key, i) => ({
        id: `tenant-${i}`,
        credentials: [
          {
            id: `cred-${i}`,
            provider: 'anthropic',
            secrets: { apiKey: key },
            fields: { baseURL: upstream.url },
          },
        ],
        virtualKeys: [vks[i]!.entry],
      })),
    });
    try {
      const requests = Array.from({ length: TENANTS * PER_TENANT }, (_, n) => {
        const t = n % TENANTS;
        return fetch(`${h.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${vks[t]!.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: `anthropic/${anthropicCase.model}`,
            stream: n % 2 === 0,
            messages: [{ role: 'user', content: `tenant-${t} request-${n}` }],
          }),
        }).then(async (res) => ({ status: res.status, body: await res.text() }));
      });
      const results = await Promise.all(requests);
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      expect(upstream.requests).toHaveLength(TENANTS * PER_TENANT);
      let checked = 0;
      for (const r of upstream.requests) {
        const text = JSON.stringify(r.body.messages);
        const t = Number(/tenant-(\d+) /.exec(text)![1]);
        expect(r.headers['x-api-key']).toBe(keys[t]);
        checked++;
      }
      expect(checked).toBe(1000);
      expect(new Set(h.usage.map((u) => `${u.tenantId}:${u.credentialId}`)).size).toBe(TENANTS);
      expect(h.usage.every((u) => u.credentialId === `cred-${u.tenantId.slice('tenant-'.length)}`)).toBe(
        true,
      );
    } finally {
      await h.close();
      await upstream.close();
    }
  }, 60_000);
});

describe('streams', () => {
  it('forwards the first event at once, and a client disconnect aborts the upstream request', async () => {
    let upstreamClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    const upstream = await startUpstream(async (r, res) => {
      res.on('close', () => upstreamClosed());
      const ev = (data: Record<string, unknown>) => ({
        event: data.type as string,
        data: JSON.stringify(data),
      });
      const events = [
        ev({
          type: 'message_start',
          message: {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: r.body.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 1, output_tokens: 1 },
          },
        }),
        ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        ...Array.from({ length: 200 }, () =>
          ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'tick ' } }),
        ),
      ];
      await sendSse(res, events, { delayMs: 50 });
    });
    const vk = virtualKey('k');
    const h = await startGateway({
      tenants: [
        {
          id: 't',
          credentials: [
            {
              id: 'c',
              provider: 'anthropic',
              secrets: { apiKey: 'sk-ant-stream-key-000' },
              fields: { baseURL: upstream.url },
            },
          ],
          virtualKeys: [vk.entry],
        },
      ],
    });
    try {
      const controller = new AbortController();
      const started = performance.now();
      const res = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        signal: controller.signal,
        headers: { authorization: `Bearer ${vk.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: `anthropic/${anthropicCase.model}`,
          stream: true,
          messages: [{ role: 'user', content: 'go' }],
        }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toMatch(/^data: \{.*"role":"assistant"/);
      // 200 events at 50 ms would take 10 s; the first one must not wait for them.
      expect(performance.now() - started).toBeLessThan(2_000);
      controller.abort();
      await Promise.race([
        closed,
        new Promise((_, reject) => setTimeout(() => reject(new Error('upstream not aborted')), 3_000)),
      ]);
    } finally {
      await h.close();
      await upstream.close();
    }
  });
});

describe('overhead and shutdown', () => {
  it('the overhead header excludes the upstream wait', async () => {
    const upstream = await startUpstream(async (r, res) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return anthropicCase.handle(r, res);
    });
    const vk = virtualKey('k');
    const h = await startGateway({
      tenants: [
        {
          id: 't',
          credentials: [
            {
              id: 'c',
              provider: 'anthropic',
              secrets: { apiKey: 'sk-ant-slow-key-000' },
              fields: { baseURL: upstream.url },
            },
          ],
          virtualKeys: [vk.entry],
        },
      ],
    });
    try {
      const res = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${vk.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: `anthropic/${anthropicCase.model}`,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
      expect(res.status).toBe(200);
      const overhead = Number(res.headers.get('x-keyhold-overhead-ms'));
      expect(overhead).toBeGreaterThan(0);
      expect(overhead).toBeLessThan(150);
    } finally {
      await h.close();
      await upstream.close();
    }
  });

  it('close() drains in-flight requests, then stops accepting', async () => {
    const upstream = await startUpstream(async (r, res) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return anthropicCase.handle(r, res);
    });
    const vk = virtualKey('k');
    const h = await startGateway({
      tenants: [
        {
          id: 't',
          credentials: [
            {
              id: 'c',
              provider: 'anthropic',
              secrets: { apiKey: 'sk-ant-drain-key-000' },
              fields: { baseURL: upstream.url },
            },
          ],
          virtualKeys: [vk.entry],
        },
      ],
    });
    try {
      const inFlight = fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${vk.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: `anthropic/${anthropicCase.model}`,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closing = h.close();
      const res = await inFlight;
      expect(res.status).toBe(200);
      const body = (await res.json()) as { choices: { message: { content: string } }[] };
      expect(body.choices[0]!.message.content).toBe('Hello from anthropic');
      await closing;
      await expect(fetch(`${h.url}/healthz`)).rejects.toThrow();
    } finally {
      await upstream.close();
    }
  });
});
