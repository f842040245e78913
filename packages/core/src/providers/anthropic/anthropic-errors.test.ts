import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { sendJson, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import {
  AuthenticationError,
  ContextLengthError,
  generate,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
  stream,
} from '../../index.js';
import { readAnthropicError } from './anthropic-errors.js';
import { anthropicEngine, errorBody, fixtureJson } from './testing/anthropic-upstream.js';

describe('anthropic error bodies (served with their HTTP status)', () => {
  let upstream: Upstream;
  let status = 500;
  let body: unknown = {};
  let headers: Record<string, string> = {};
  beforeAll(async () => {
    upstream = await startUpstream((_req, res) =>
      sendJson(res, status, body, { 'request-id': 'req_011CErr', ...headers }),
    );
  });
  afterAll(() => upstream.close());

  function fail(s: number, b: unknown, h: Record<string, string> = {}, key = canaryKey('sk-ant-api03')) {
    status = s;
    body = b;
    headers = h;
    return generate(
      anthropicEngine(upstream.url),
      { messages: [{ role: 'user', content: 'x' }] },
      {
        apiKey: key,
        maxRetries: 0,
      },
    ).catch((e) => e);
  }

  it('401 echoing the key → AuthenticationError with no 8-character fragment of it anywhere', async () => {
    const key = canaryKey('sk-ant-api03');
    const echo = errorBody('authentication_error', `invalid x-api-key ${key.slice(0, 16)}…${key.slice(-10)}`);
    const error = await fail(401, echo, {}, key);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.transient).toBe(false);
    expect(error.upstreamStatus).toBe(401);
    expect(error.providerCode).toBe('authentication_error');
    expectNoKeyIn(allRenderings(error), key);
    expect(allRenderings(error)).not.toContain('invalid x-api-key');
  });

  it('401 in a stream request fails the same way, before any event', async () => {
    const key = canaryKey('sk-ant-api03');
    status = 401;
    body = errorBody('authentication_error', `invalid x-api-key ${key}`);
    headers = {};
    const error = await (async () => {
      for await (const _ of stream(
        anthropicEngine(upstream.url),
        { messages: [{ role: 'user', content: 'x' }] },
        {
          apiKey: key,
          maxRetries: 0,
        },
      )) {
        throw new Error('no event expected');
      }
    })().catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expectNoKeyIn(allRenderings(error), key);
  });

  it('429 with retry-after → RateLimitError carrying retryAfterMs', async () => {
    const error = await fail(429, fixtureJson('error-429-rate-limit.json'), { 'retry-after': '17' });
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.transient).toBe(true);
    expect(error.retryAfterMs).toBe(17_000);
    expect(error.providerCode).toBe('rate_limit_error');
  });

  it('429 for a reached spend limit → PermissionError, not retried', async () => {
    let attempts = 0;
    status = 429;
    body = fixtureJson('error-429-spend-limit.json');
    headers = {};
    const error = await generate(
      anthropicEngine(upstream.url),
      { messages: [{ role: 'user', content: 'x' }] },
      {
        apiKey: canaryKey(),
        maxRetries: 2,
        onAttempt: () => attempts++,
      },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.transient).toBe(false);
    expect(error.upstreamStatus).toBe(429);
    expect(error.providerCode).toBe('enforced_spend_limit_reached');
    expect(attempts).toBe(1);
  });

  it('400 "prompt is too long" → ContextLengthError; message not copied', async () => {
    const error = await fail(400, fixtureJson('error-400-context-length.json'));
    expect(error).toBeInstanceOf(ContextLengthError);
    expect(error.transient).toBe(false);
    expect(error.message).not.toContain('210000');
  });

  it('400 "exceed context limit" (input + max_tokens) → ContextLengthError', async () => {
    expect(await fail(400, fixtureJson('error-400-exceeds-context-limit.json'))).toBeInstanceOf(
      ContextLengthError,
    );
  });

  it('other 400, 403, 404, 413 map to their typed errors, all permanent', async () => {
    const cases = [
      [400, 'error-400-invalid.json', InvalidRequestError],
      [403, 'error-403-permission.json', PermissionError],
      [404, 'error-404-not-found.json', NotFoundError],
      [413, 'error-413-request-too-large.json', InvalidRequestError],
    ] as const;
    for (const [s, file, type] of cases) {
      const error = await fail(s, fixtureJson(file));
      expect(error, file).toBeInstanceOf(type);
      expect(error.transient).toBe(false);
      expect(error.upstreamStatus).toBe(s);
      expect(error.providerCode).toBe((fixtureJson(file).error as { type: string }).type);
    }
  });

  it('500 api_error and 529 overloaded_error → ProviderUnavailableError, transient', async () => {
    for (const [s, file] of [
      [500, 'error-500-api.json'],
      [529, 'error-529-overloaded.json'],
    ] as const) {
      const error = await fail(s, fixtureJson(file));
      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(error.transient).toBe(true);
      expect(error.upstreamStatus).toBe(s);
    }
  });

  it('a 529 is retried, and the retry that succeeds is returned', async () => {
    let calls = 0;
    upstream.handle((_req, res) => {
      calls++;
      if (calls === 1) sendJson(res, 529, fixtureJson('error-529-overloaded.json'), { 'retry-after': '0' });
      else sendJson(res, 200, fixtureJson('text.json'));
    });
    try {
      const result = await generate(
        anthropicEngine(upstream.url),
        { messages: [{ role: 'user', content: 'x' }] },
        {
          apiKey: canaryKey(),
          maxRetries: 1,
        },
      );
      expect(calls).toBe(2);
      expect(result.finishReason).toBe('stop');
    } finally {
      upstream.handle((_req, res) => sendJson(res, status, body, headers));
    }
  });

  it('an error body that is not JSON still maps by status', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    });
    try {
      expect(await fail(502, null)).toBeInstanceOf(ProviderUnavailableError);
    } finally {
      upstream.handle((_req, res) => sendJson(res, status, body, headers));
    }
  });
});

describe('readAnthropicError', () => {
  it('keeps the type, never the message', () => {
    const info = readAnthropicError(errorBody('invalid_request_error', 'sk-ant-api03-leaky'));
    expect(info).toEqual({ providerCode: 'invalid_request_error' });
    expect(JSON.stringify(info)).not.toContain('leaky');
  });

  it('reads nothing from bodies of another shape', () => {
    expect(readAnthropicError(undefined)).toEqual({});
    expect(readAnthropicError('Overloaded')).toEqual({});
    expect(readAnthropicError({ error: 'x' })).toEqual({});
  });
});
