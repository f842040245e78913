import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessEntry } from './access-log.js';
import { type ApiRoute, createApiRouter } from './api-router.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server whose router answers `routes`; anything it leaves gets a plain 299 from "Fastify". */
async function serve(routes: ApiRoute[], closing = () => false) {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const access: AccessEntry[] = [];
  const router = createApiRouter({
    routes,
    access: (entry) => access.push(entry),
    logger,
    bodyLimit: 1024,
    isClosing: closing,
  });
  const server = createServer((req, res) => {
    if (router(req, res)) return;
    res.writeHead(299).end('left to fastify');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, lines, access };
}

const echo: ApiRoute = {
  method: 'POST',
  path: '/v1/echo',
  surface: 'openai',
  async handle(exchange) {
    exchange.header('x-extra', 'yes');
    exchange.send(200, { got: exchange.body });
  },
};

describe('createApiRouter', () => {
  it('answers its routes with the parsed body, a request id and an access line', async () => {
    const { url, access } = await serve([echo]);
    const res = await fetch(`${url}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'mine-1' },
      body: '{"a":[1,2]}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: { a: [1, 2] } });
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    expect(res.headers.get('x-client-request-id')).toBe('mine-1');
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(Number(res.headers.get('x-keyhold-overhead-ms'))).toBeGreaterThanOrEqual(0);
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      reqId: res.headers.get('x-request-id'),
      method: 'POST',
      path: '/v1/echo',
      clientRequestId: 'mine-1',
      statusCode: 200,
      msg: 'request completed',
    });
  });

  it('leaves other paths, other methods and every request while closing to Fastify', async () => {
    let closing = false;
    const { url } = await serve([echo], () => closing);
    expect((await fetch(`${url}/v1/other`, { method: 'POST', body: '{}' })).status).toBe(299);
    expect((await fetch(`${url}/v1/echo`)).status).toBe(299);
    closing = true;
    const during = await fetch(`${url}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(during.status).toBe(299);
  });

  it('refuses poisoned and over-deep JSON and an over-long body before the route runs', async () => {
    let ran = 0;
    const counted: ApiRoute = {
      ...echo,
      handle: async (x) => {
        ran++;
        return echo.handle(x);
      },
    };
    const { url } = await serve([counted]);
    const send = (body: string) =>
      fetch(`${url}/v1/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const poisoned = await send('{"__proto__":{"admin":true}}');
    expect(poisoned.status).toBe(400);
    // Read in full before it was refused: the connection stays usable.
    expect(poisoned.headers.get('connection')).toBe('keep-alive');
    expect(((await poisoned.json()) as { error: { message: string } }).error.message).toMatch(
      /forbidden key/,
    );
    const deep = await send(`${'['.repeat(65)}${']'.repeat(65)}`);
    expect(deep.status).toBe(400);
    const large = await send(JSON.stringify({ x: 'y'.repeat(2000) }));
    expect(large.status).toBe(413);
    expect(ran).toBe(0);
  });

  it('turns a failing route into a 500 in the surface’s shape and logs no message', async () => {
    const { url, lines } = await serve([
      {
        method: 'GET',
        path: '/v1/boom',
        surface: 'anthropic',
        handle: async () => {
          throw new Error('secret detail sk-do-not-log');
        },
      },
    ]);
    const res = await fetch(`${url}/v1/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'Internal error' },
    });
    const logged = lines.join('\n');
    expect(logged).toContain('unhandled error');
    expect(logged).toContain(res.headers.get('x-request-id'));
    expect(logged).not.toContain('sk-do-not-log');
  });
});
