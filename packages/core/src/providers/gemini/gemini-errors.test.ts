import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { sendJson, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import { createEngine, embed, generate, stream } from '../../engine.js';
import {
  AuthenticationError,
  ContextLengthError,
  InvalidRequestError,
  type KeyholdError,
  NotFoundError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
} from '../../errors.js';
import { readGeminiError } from './gemini-errors.js';
import { geminiFixture, geminiTextBody } from './testing/gemini-fixtures.js';

describe('readGeminiError', () => {
  it('reads the ErrorInfo reason, RetryInfo delay, context length and a rejected key', () => {
    expect(readGeminiError(geminiFixture('gemini-400-api-key-invalid.json'))).toEqual({
      providerCode: 'API_KEY_INVALID',
      authenticationFailed: true,
    });
    expect(readGeminiError(geminiFixture('gemini-429-retry-info.json'))).toEqual({
      providerCode: 'RESOURCE_EXHAUSTED',
      retryAfterMs: 37_000,
    });
    expect(readGeminiError(geminiFixture('gemini-400-context-length.json'))).toEqual({
      providerCode: 'INVALID_ARGUMENT',
      contextLength: true,
    });
    expect(readGeminiError(geminiFixture('gemini-403-permission-denied.json'))).toEqual({
      providerCode: 'API_KEY_SERVICE_BLOCKED',
    });
  });

  it('reads fractional retry delays, array-wrapped bodies and garbage', () => {
    const body = geminiFixture('gemini-429-retry-info.json');
    body.error.details[2].retryDelay = '34.4s';
    expect(readGeminiError([body]).retryAfterMs).toBe(34_400);
    body.error.details[2].retryDelay = 'soon';
    expect(readGeminiError(body).retryAfterMs).toBeUndefined();
    expect(readGeminiError(undefined)).toEqual({});
    expect(readGeminiError('<html>')).toEqual({});
    expect(readGeminiError({ error: 'nope' })).toEqual({});
  });

  it('recognises a rejected key by its message when the reason is missing', () => {
    expect(
      readGeminiError({
        error: {
          code: 400,
          message: 'API key expired. Please renew the API key.',
          status: 'INVALID_ARGUMENT',
        },
      }).authenticationFailed,
    ).toBe(true);
  });
});

describe('HTTP errors', () => {
  let upstream: Upstream;
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => sendJson(res, 500, {}));
  });
  afterAll(async () => {
    await upstream.close();
  });

  const engine = () =>
    createEngine({ provider: 'gemini', model: 'gemini-2.5-flash', options: { baseURL: upstream.url } });

  /**
   * Serves the fixture with its status, its message made to quote the request URL with the key
   * (Google's messages quote URLs, and a `?key=` would be in them), and returns the errors of a
   * generate, a stream and an embed call.
   */
  async function failWith(status: number, fixture: string, key = canaryKey('AIza')) {
    upstream.handle((req, res) => {
      const body = geminiFixture(fixture);
      body.error.message += ` [${req.path}?key=${key}]`;
      sendJson(res, status, body);
    });
    const input = { messages: [{ role: 'user' as const, content: 'x' }] };
    const options = { apiKey: key, maxRetries: 0 };
    const errors: KeyholdError[] = [
      await generate(engine(), input, options).catch((e) => e),
      await (async () => {
        for await (const _ of stream(engine(), input, options)) {
          // unreachable
        }
      })().catch((e) => e),
      await embed(engine(), { input: ['x'] }, options).catch((e) => e),
    ];
    for (const error of errors) {
      expect(error.upstreamStatus).toBe(status);
      expectNoKeyIn(allRenderings(error), key);
      // Keyhold's own words, never Google's.
      expect(error.message).not.toContain(geminiFixture(fixture).error.message.slice(0, 20));
    }
    return errors;
  }

  it('400 API_KEY_INVALID is an AuthenticationError, not an invalid request', async () => {
    for (const error of await failWith(400, 'gemini-400-api-key-invalid.json')) {
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.transient).toBe(false);
      expect(error.providerCode).toBe('API_KEY_INVALID');
    }
  });

  it('401 UNAUTHENTICATED is an AuthenticationError', async () => {
    for (const error of await failWith(401, 'gemini-401-unauthenticated.json')) {
      expect(error).toBeInstanceOf(AuthenticationError);
    }
  });

  it('400 with the input token count over the maximum is a ContextLengthError', async () => {
    for (const error of await failWith(400, 'gemini-400-context-length.json')) {
      expect(error).toBeInstanceOf(ContextLengthError);
      expect(error.transient).toBe(false);
    }
  });

  it('other 400s are invalid requests', async () => {
    for (const error of await failWith(400, 'gemini-400-invalid-argument.json')) {
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.providerCode).toBe('INVALID_ARGUMENT');
    }
  });

  it('403 PERMISSION_DENIED (a blocked key) is a PermissionError', async () => {
    for (const error of await failWith(403, 'gemini-403-permission-denied.json')) {
      expect(error).toBeInstanceOf(PermissionError);
      expect(error.providerCode).toBe('API_KEY_SERVICE_BLOCKED');
    }
  });

  it('404 NOT_FOUND is a NotFoundError', async () => {
    for (const error of await failWith(404, 'gemini-404-not-found.json')) {
      expect(error).toBeInstanceOf(NotFoundError);
    }
  });

  it('429 RESOURCE_EXHAUSTED carries the RetryInfo delay', async () => {
    for (const error of await failWith(429, 'gemini-429-retry-info.json')) {
      expect(error).toBeInstanceOf(RateLimitError);
      expect((error as RateLimitError).retryAfterMs).toBe(37_000);
      expect(error.transient).toBe(true);
    }
  });

  it('500 INTERNAL and 503 UNAVAILABLE are transient ProviderUnavailableErrors', async () => {
    for (const error of await failWith(500, 'gemini-500-internal.json')) {
      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(error.transient).toBe(true);
      expect(error.providerCode).toBe('INTERNAL');
    }
    for (const error of await failWith(503, 'gemini-503-unavailable.json')) {
      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(error.status).toBe(503);
    }
  });

  it('a 503 is retried and the retry succeeds', async () => {
    let calls = 0;
    upstream.handle((_req, res) => {
      calls++;
      if (calls === 1) sendJson(res, 503, geminiFixture('gemini-503-unavailable.json'));
      else sendJson(res, 200, geminiTextBody('second time'));
    });
    const result = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k', maxRetries: 1 },
    );
    expect(result.content).toBe('second time');
    expect(calls).toBe(2);
  });

  it('a bad key is not retried', async () => {
    let calls = 0;
    upstream.handle((_req, res) => {
      calls++;
      sendJson(res, 400, geminiFixture('gemini-400-api-key-invalid.json'));
    });
    const error = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'AIza-k', maxRetries: 2 },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(calls).toBe(1);
  });
});
