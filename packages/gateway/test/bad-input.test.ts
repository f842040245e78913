import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateVirtualKey } from '../src/index.js';
import { type Harness, startGateway, virtualKey } from './support/gateway-harness.js';
import { validateOpenAI } from './support/openai-spec.js';

const vk = virtualKey('k');
const expired = virtualKey('k-exp', { expiresAt: '2020-01-01T00:00:00Z' });
const revoked = virtualKey('k-rev', { revokedAt: '2020-01-01T00:00:00Z' });
const restricted = virtualKey('k-restricted');
let h: Harness;

beforeAll(async () => {
  h = await startGateway(
    {
      models: { aliases: { demo: 'fake/echo-1' } },
      operatorKeys: [{ id: 'op', provider: 'fake', secrets: { apiKey: 'fake-operator-key' } }],
      tenants: [
        {
          id: 't',
          settings: { allowOperatorFallback: true },
          virtualKeys: [vk.entry, expired.entry, revoked.entry],
        },
        {
          id: 'r',
          settings: { allowOperatorFallback: true, allowedModels: ['fake/allowed-*'] },
          virtualKeys: [restricted.entry],
        },
      ],
    },
    // A Fastify route, to check that its JSON is read as the `/v1` router reads it.
    { routes: (app) => app.post('/test/echo', async (request) => ({ echoed: request.body })) },
  );
});
afterAll(() => h.close());

const CHAT = { model: 'demo', messages: [{ role: 'user', content: 'ping' }] };

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${vk.key}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}

/** After every bad request the server still answers a good one. */
async function stillServes() {
  const ok = await post('/v1/chat/completions', JSON.stringify(CHAT));
  expect(ok.status).toBe(200);
  expect(ok.json.choices[0].message.content).toBe('You said: ping');
}

const openaiCases: [string, string, number, string, Record<string, string>?][] = [
  ['malformed JSON', '{"model": "demo", "messages": [', 400, 'invalid_json'],
  ['a JSON array body', '[1,2,3]', 400, 'invalid_body'],
  ['messages of the wrong type', JSON.stringify({ model: 'demo', messages: 'hi' }), 400, 'invalid_request'],
  ['temperature as a string', JSON.stringify({ ...CHAT, temperature: 'hot' }), 400, 'invalid_request'],
  [
    'an unknown role',
    JSON.stringify({ model: 'demo', messages: [{ role: 'wizard', content: 'x' }] }),
    400,
    'invalid_request',
  ],
  [
    'deeply nested JSON',
    `{"model":"demo","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    400,
    'invalid_json',
  ],
  [
    'a __proto__ key',
    '{"model":"demo","messages":[{"role":"user","content":"x"}],"__proto__":{"isAdmin":true}}',
    400,
    'invalid_json',
  ],
  [
    'a constructor.prototype key',
    '{"model":"demo","messages":[],"constructor":{"prototype":{"x":1}}}',
    400,
    'invalid_json',
  ],
  [
    'an escaped __proto__ key, nested, with space before its colon',
    '{"model":"demo","messages":[{"role":"user","content":"x","\\u005f_pr\\u006fto__" :{"isAdmin":true}}]}',
    400,
    'invalid_json',
  ],
  [
    'an escaped constructor.prototype key',
    '{"model":"demo","messages":[],"\\u0063onstructor":{"prototype":{"x":1}}}',
    400,
    'invalid_json',
  ],
  ['an unknown model', JSON.stringify({ ...CHAT, model: 'nope' }), 404, 'model_not_found'],
  ['an unknown provider', JSON.stringify({ ...CHAT, model: 'acme/model-1' }), 404, 'model_not_found'],
  [
    'base_url in the body',
    JSON.stringify({ ...CHAT, base_url: 'https://evil.example' }),
    400,
    'upstream_override_not_allowed',
  ],
  [
    'api_base in the body',
    JSON.stringify({ ...CHAT, api_base: 'https://evil.example' }),
    400,
    'upstream_override_not_allowed',
  ],
  [
    'baseURL in the body',
    JSON.stringify({ ...CHAT, baseURL: 'https://evil.example' }),
    400,
    'upstream_override_not_allowed',
  ],
  ['no Authorization header', JSON.stringify(CHAT), 401, 'missing_api_key', { authorization: '' }],
  ['a malformed key', JSON.stringify(CHAT), 401, 'invalid_api_key', { authorization: 'Bearer kh_nope' }],
  [
    'a key with a bad checksum',
    JSON.stringify(CHAT),
    401,
    'invalid_api_key',
    { authorization: `Bearer ${vk.key.slice(0, -1)}${vk.key.endsWith('A') ? 'B' : 'A'}` },
  ],
  [
    'a well-formed unknown key',
    JSON.stringify(CHAT),
    401,
    'invalid_api_key',
    { authorization: `Bearer ${generateVirtualKey().key}` },
  ],
  [
    'an expired key',
    JSON.stringify(CHAT),
    401,
    'expired_api_key',
    { authorization: `Bearer ${expired.key}` },
  ],
  ['a revoked key', JSON.stringify(CHAT), 401, 'revoked_api_key', { authorization: `Bearer ${revoked.key}` }],
  [
    'a model outside the tenant allow-list',
    JSON.stringify({ ...CHAT, model: 'fake/other' }),
    403,
    'model_not_allowed',
    { authorization: `Bearer ${restricted.key}` },
  ],
];

describe('bad input on /v1/chat/completions: the proper 4xx in OpenAI’s error shape', () => {
  for (const [name, body, status, code, headers] of openaiCases) {
    it(name, async () => {
      const res = await post('/v1/chat/completions', body, headers);
      expect(res.status).toBe(status);
      expect(res.json.error.code).toBe(code);
      expect(validateOpenAI('ErrorResponse', res.json)).toEqual([]);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      await stillServes();
    });
  }

  it('a 10 MB body gets 413', async () => {
    const big = JSON.stringify({
      ...CHAT,
      messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }],
    });
    const res = await post('/v1/chat/completions', big);
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('request_too_large');
    await stillServes();
  });

  it('an allowed model passes the allow-list', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ ...CHAT, model: 'fake/allowed-1' }), {
      authorization: `Bearer ${restricted.key}`,
    });
    expect(res.status).toBe(200);
  });
});

describe('bad input on /v1/messages: Anthropic’s error shape', () => {
  const messages = (body: string, headers: Record<string, string> = {}) =>
    post('/v1/messages', body, { authorization: '', 'x-api-key': vk.key, ...headers });
  const MSG = { model: 'demo', max_tokens: 10, messages: [{ role: 'user', content: 'ping' }] };

  it.each([
    ['malformed JSON', '{"model":', 400, 'invalid_request_error'],
    ['missing max_tokens', JSON.stringify({ model: 'demo', messages: [] }), 400, 'invalid_request_error'],
    ['an unknown model', JSON.stringify({ ...MSG, model: 'nope/x' }), 404, 'not_found_error'],
    [
      'base_url in the body',
      JSON.stringify({ ...MSG, base_url: 'https://evil.example' }),
      400,
      'invalid_request_error',
    ],
  ])('%s', async (_name, body, status, type) => {
    const res = await messages(body);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ type: 'error', error: { type } });
    await stillServes();
  });

  it('a missing key is 401 authentication_error; a 10 MB body 413', async () => {
    const missing = await messages(JSON.stringify(MSG), { 'x-api-key': '' });
    expect(missing.status).toBe(401);
    expect(missing.json.error.type).toBe('authentication_error');
    const big = await messages(JSON.stringify({ ...MSG, system: 'x'.repeat(10 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.json.error.type).toBe('request_too_large');
    await stillServes();
  });
});

describe('the request body as the API routes read it', () => {
  it('a JSON body sent as text/plain is 400 invalid_body', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify(CHAT), { 'content-type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_body');
    expect(validateOpenAI('ErrorResponse', res.json)).toEqual([]);
  });

  it('any other media type is 415, in each surface’s own error shape', async () => {
    const openai = await post('/v1/chat/completions', JSON.stringify(CHAT), {
      'content-type': 'application/xml',
    });
    expect(openai.status).toBe(415);
    expect(openai.json.error.code).toBe('unsupported_media_type');
    expect(validateOpenAI('ErrorResponse', openai.json)).toEqual([]);
    expect(openai.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    const anthropic = await post('/v1/messages', '{}', {
      authorization: '',
      'x-api-key': vk.key,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(anthropic.status).toBe(415);
    expect(anthropic.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    await stillServes();
  });

  it('a request without a body is 400 invalid_body', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${vk.key}` },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_body');
  });

  it('an empty JSON body is 400 invalid_json', async () => {
    const res = await post('/v1/chat/completions', '');
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_json');
  });

  it('a chunked body over the limit is 413 and the connection is closed', async () => {
    // No content-length to refuse up front: the limit is counted while reading.
    const answer = await new Promise<{ status: number; connection: string | undefined; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(
          `${h.url}/v1/chat/completions`,
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${vk.key}`,
              'content-type': 'application/json',
              'transfer-encoding': 'chunked',
            },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              body += c;
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
            );
          },
        );
        // The server may close while the rest is still being written: only the answer counts.
        req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
        const head = `{"model":"demo","messages":[{"role":"user","content":"`;
        req.write(head);
        const piece = 'x'.repeat(256 * 1024);
        for (let sent = 0; sent <= 5 * 1024 * 1024; sent += piece.length) req.write(piece);
        req.end('"}]}');
      },
    );
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.body).error.code).toBe('request_too_large');
    await stillServes();
  });

  it('malformed JSON, read in full, leaves the keep-alive connection open for the next request', async () => {
    // fetch keeps its connections alive: the second request must not need a new one.
    const send = (body: string) =>
      new Promise<{ status: number; connection: string | undefined; port: number }>((resolve, reject) => {
        const req = httpRequest(
          `${h.url}/v1/chat/completions`,
          {
            method: 'POST',
            agent,
            headers: { authorization: `Bearer ${vk.key}`, 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                connection: res.headers.connection,
                port: req.socket?.localPort ?? -1,
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const bad = await send('{"model":"demo","messages":[');
      const good = await send(JSON.stringify(CHAT));
      expect(bad.status).toBe(400);
      expect(bad.connection).toBe('keep-alive');
      expect(good.status).toBe(200);
      expect(good.port).toBe(bad.port);
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['malformed JSON', '{"model":'],
    ['a __proto__ key', '{"__proto__":{"isAdmin":true}}'],
    ['an escaped constructor.prototype key', '{"\\u0063onstructor":{"prototype":{"x":1}}}'],
    ['deep nesting', `{"a":${'['.repeat(65)}${']'.repeat(65)}}`],
  ])('%s is refused alike by the /v1 router and by a Fastify route', async (_name, body) => {
    const api = await post('/v1/chat/completions', body);
    const fastify = await post('/test/echo', body);
    expect(api.status).toBe(400);
    expect(fastify.status).toBe(400);
    expect(fastify.json.error.code).toBe('invalid_json');
    expect(fastify.json.error.message).toBe(api.json.error.message);
  });

  it('a Fastify route gets the parsed body', async () => {
    const res = await post('/test/echo', JSON.stringify({ a: [1, { b: 'c' }] }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ echoed: { a: [1, { b: 'c' }] } });
  });

  it('a trailing slash and a query string reach the same route', async () => {
    const res = await post('/v1/chat/completions/?trace=1', JSON.stringify(CHAT));
    expect(res.status).toBe(200);
    expect(res.json.choices[0].message.content).toBe('You said: ping');
  });

  it('another method on an API path is a 404 in OpenAI’s shape', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${vk.key}` },
    });
    expect(res.status).toBe(404);
    expect(validateOpenAI('ErrorResponse', await res.json())).toEqual([]);
  });
});

describe('HTTP basics', () => {
  it('health and readiness', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  });

  it('keeps its own request id, echoes a sane client id beside it, drops an unsafe one', async () => {
    const mine = await post('/v1/chat/completions', JSON.stringify(CHAT), {
      'x-request-id': 'client-id-123',
    });
    // The gateway's id keys the usage ledger, so a client can never choose it.
    const id = mine.headers.get('x-request-id')!;
    expect(id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(mine.headers.get('x-client-request-id')).toBe('client-id-123');
    expect(
      h.logs.some((l) => {
        const line = JSON.parse(l);
        return line.reqId === id && line.clientRequestId === 'client-id-123';
      }),
    ).toBe(true);
    const again = await post('/v1/chat/completions', JSON.stringify(CHAT), {
      'x-request-id': 'client-id-123',
    });
    expect(again.headers.get('x-request-id')).not.toBe(id);
    const unsafe = await post('/v1/chat/completions', JSON.stringify(CHAT), {
      'x-request-id': 'bad id\twith spaces',
    });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    expect(unsafe.headers.get('x-client-request-id')).toBeNull();
    expect(h.logs.join('\n')).not.toContain('bad id');
  });

  it('every log line is JSON and names its request', async () => {
    const lines = h.logs.map((l) => JSON.parse(l));
    const requestLines = lines.filter((l) => l.msg === 'request completed');
    expect(requestLines.length).toBeGreaterThan(10);
    expect(requestLines.every((l) => typeof l.reqId === 'string' && l.request?.path)).toBe(true);
  });

  it('an unknown route is a 404 in OpenAI’s shape', async () => {
    const res = await fetch(`${h.url}/v1/nothing`);
    expect(res.status).toBe(404);
    expect(validateOpenAI('ErrorResponse', await res.json())).toEqual([]);
  });
});
