import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  configure,
  createEngine,
  type EngineOptions,
  generate,
  type KeyMaterial,
  NOT_FOUND,
  runtimeKeys,
  Secret,
  stream,
} from '../../src/index.js';
import { allRenderings, canaryKey, expectNoKeyIn } from './leaks.js';
import { type RecordedRequest, startUpstream, type Upstream } from './upstream-server.js';

/**
 * What the shared invariant suite needs to know about one provider's wire format. Each adapter's
 * test file builds one and calls `describeAdapterContract`.
 */
export interface AdapterHarness {
  /** Catalogue id, e.g. 'openai'. */
  provider: string;
  model: string;
  /** Engine options that point the adapter at the local server. */
  engineOptions(upstreamUrl: string): EngineOptions;
  /** The key material a caller hands over for this key (Azure/Bedrock need more than a string). */
  material(key: string): KeyMaterial;
  /** Environment variables that make the env link supply this key. */
  env(key: string, upstreamUrl: string): Record<string, string>;
  /** The key this request carried, as the provider would read it (header, query, signature). */
  keyOf(request: RecordedRequest): string | undefined;
  /**
   * Answers a non-streamed chat request with a successful body in the provider's format whose
   * text is `text`.
   */
  replyText(request: RecordedRequest, res: ServerResponse, text: string): void;
  /** Answers with the provider's 401 body, echoing part of the key the way the provider does. */
  replyUnauthorized(request: RecordedRequest, res: ServerResponse, key: string): void;
  /** Keys for this provider look like this (prefix of canary keys). */
  keyPrefix?: string;
}

/** The text of the last user message in a neutral-format call we made (the marker). */
function markerText(i: number): string {
  return `marker-${i}`;
}

/**
 * The invariants every adapter must hold (issue #2): no key in any engine, however the key is
 * supplied; per-call keys never mix under concurrency; no key fragment in any error.
 */
export function describeAdapterContract(
  h: AdapterHarness,
  extractMarker: (request: RecordedRequest) => string,
): void {
  describe(`${h.provider} adapter contract`, () => {
    let upstream: Upstream;
    beforeAll(async () => {
      upstream = await startUpstream((req, res) => {
        h.replyText(req, res, `echo ${extractMarker(req)}`);
      });
    });
    afterAll(async () => {
      await upstream.close();
    });
    afterEach(() => {
      runtimeKeys.clear();
      configure({});
    });

    const ways: {
      name: string;
      setup: (key: string) => { engineKeys?: Parameters<typeof createEngine>[0]['keys']; call?: KeyMaterial };
    }[] = [
      { name: 'per-call apiKey', setup: (key) => ({ call: h.material(key) }) },
      { name: 'per-call Secret', setup: (key) => ({ call: secretify(h.material(key)) }) },
      { name: 'map resolver', setup: (key) => ({ engineKeys: { [h.provider]: h.material(key) } }) },
      { name: 'function resolver', setup: (key) => ({ engineKeys: () => h.material(key) }) },
      {
        name: 'resolver object',
        setup: (key) => ({
          engineKeys: { fetch: (p: string) => (p === h.provider ? h.material(key) : NOT_FOUND) },
        }),
      },
      {
        name: 'runtime store',
        setup: (key) => {
          runtimeKeys.set(h.provider, h.material(key));
          return {};
        },
      },
      {
        name: 'config',
        setup: (key) => {
          configure({ keys: { [h.provider]: h.material(key) } });
          return {};
        },
      },
      {
        name: 'environment variable',
        setup: (key) => {
          configure({ env: h.env(key, upstream.url) });
          return {};
        },
      },
    ];

    for (const way of ways) {
      it(`engine holds no key when the key comes from the ${way.name}; the key reaches the server`, async () => {
        const key = canaryKey(h.keyPrefix);
        const { engineKeys, call } = way.setup(key);
        const engine = createEngine({
          provider: h.provider,
          model: h.model,
          options: h.engineOptions(upstream.url),
          ...(engineKeys ? { keys: engineKeys } : {}),
        });
        const before = upstream.requests.length;
        const result = await generate(
          engine,
          { messages: [{ role: 'user', content: markerText(7) }] },
          { ...(call ? { apiKey: call } : {}), maxRetries: 0 },
        );
        expect(result.content).toBe(`echo ${markerText(7)}`);
        expect(upstream.requests.length).toBe(before + 1);
        expect(h.keyOf(upstream.requests.at(-1)!)).toBe(key);
        expectNoKeyIn(allRenderings(engine), key);
        expectNoKeyIn(allRenderings(result), key);
      });
    }

    it('fails with an AuthenticationError naming the provider before any network call when no key is found', async () => {
      configure({ env: {} });
      const engine = createEngine({
        provider: h.provider,
        model: h.model,
        options: h.engineOptions(upstream.url),
      });
      const before = upstream.requests.length;
      const error = await generate(engine, { messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.provider).toBe(h.provider);
      expect(error.message).toContain(h.provider);
      const streamError = await (async () => {
        for await (const _ of stream(engine, { messages: [{ role: 'user', content: 'x' }] })) {
          // unreachable
        }
      })().catch((e) => e);
      expect(streamError).toBeInstanceOf(AuthenticationError);
      expect(upstream.requests.length).toBe(before);
    });

    it('1,000 interleaved concurrent calls with 50 keys: every upstream request carries its own caller’s key', async () => {
      configure({ env: {} });
      const keys = Array.from({ length: 50 }, () => canaryKey(h.keyPrefix));
      const engine = createEngine({
        provider: h.provider,
        model: h.model,
        options: h.engineOptions(upstream.url),
      });
      const before = upstream.requests.length;
      const results = await Promise.all(
        Array.from({ length: 1000 }, async (_, i) => {
          // Interleave: yield to the event loop a different number of times per call.
          for (let j = 0; j < i % 5; j++) await Promise.resolve();
          return generate(
            engine,
            { messages: [{ role: 'user', content: markerText(i) }] },
            { apiKey: h.material(keys[i % 50]!), maxRetries: 0 },
          );
        }),
      );
      for (const [i, r] of results.entries()) expect(r.content).toBe(`echo ${markerText(i)}`);
      const seen = upstream.requests.slice(before);
      expect(seen).toHaveLength(1000);
      for (const request of seen) {
        const i = Number(extractMarker(request).replace('marker-', ''));
        expect(h.keyOf(request)).toBe(keys[i % 50]);
      }
    });

    it('a 401 that echoes the key becomes an AuthenticationError with no key fragment anywhere', async () => {
      const key = canaryKey(h.keyPrefix);
      const local = await startUpstream((req, res) => h.replyUnauthorized(req, res, key));
      try {
        const engine = createEngine({
          provider: h.provider,
          model: h.model,
          options: h.engineOptions(local.url),
        });
        const error = await generate(
          engine,
          { messages: [{ role: 'user', content: 'x' }] },
          { apiKey: h.material(key) },
        ).catch((e) => e);
        expect(error).toBeInstanceOf(AuthenticationError);
        expect(error.transient).toBe(false);
        expect(error.upstreamStatus).toBe(401);
        expect(local.requests).toHaveLength(1);
        expectNoKeyIn(allRenderings(error), key);
        const streamError = await (async () => {
          for await (const _ of stream(
            engine,
            { messages: [{ role: 'user', content: 'x' }] },
            { apiKey: h.material(key) },
          )) {
            // unreachable
          }
        })().catch((e) => e);
        expect(streamError).toBeInstanceOf(AuthenticationError);
        expectNoKeyIn(allRenderings(streamError), key);
      } finally {
        await local.close();
      }
    });
  });
}

function secretify(material: KeyMaterial): KeyMaterial {
  if (typeof material === 'string') return Secret.from(material);
  if (material instanceof Secret) return material;
  return Object.fromEntries(Object.entries(material).map(([k, v]) => [k, v]));
}
