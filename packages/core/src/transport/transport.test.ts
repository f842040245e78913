import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUndiciTransport } from './transport.js';

/**
 * The undici transport against a real local HTTP server: whole bodies, chunked bodies read as
 * they arrive, backpressure, early exits, aborts, cut connections and redirects.
 */
describe('createUndiciTransport', () => {
  let server: http.Server;
  let base: string;
  const connections: import('node:net').Socket[] = [];
  const closed: string[] = [];
  let written = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const path = req.url ?? '/';
      res.on('close', () => closed.push(path));
      if (path === '/json') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-twice': ['a', 'b'] });
        res.end(JSON.stringify({ ok: true, auth: req.headers.authorization ?? null }));
      } else if (path === '/status-429') {
        res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
        res.end('{"error":{"message":"slow down"}}');
      } else if (path === '/chunks') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const tick = () => {
          if (i === 3) return res.end();
          res.write(`part${i++};`);
          setTimeout(tick, 20);
        };
        tick();
      } else if (path === '/firehose') {
        // Writes as fast as the client accepts, and counts what it managed to hand over.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        written = 0;
        const chunk = Buffer.alloc(16 * 1024, 120);
        const pump = () => {
          while (!res.destroyed && written < 256 * 1024 * 1024) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (path === '/cut') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        setTimeout(() => res.socket?.destroy(), 30);
      } else if (path === '/slow-headers') {
        setTimeout(() => {
          if (!res.destroyed) res.end('late');
        }, 2000);
      } else if (path === '/large') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: 'x'.repeat(3 * 1024 * 1024) }));
      } else if (path === '/redirect') {
        res.writeHead(302, { location: '/json' });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    server.on('connection', (socket) => connections.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const transport = createUndiciTransport();
  const get = (path: string, signal?: AbortSignal) =>
    transport.request({
      url: `${base}${path}`,
      method: 'GET',
      headers: { authorization: 'Bearer transport-test' },
      ...(signal ? { signal } : {}),
    });

  it('reads a whole body, with its status and headers (repeated ones joined)', async () => {
    const res = await get('/json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-twice']).toBe('a, b');
    expect(JSON.parse(await res.text())).toEqual({ ok: true, auth: 'Bearer transport-test' });
  });

  it('resolves non-2xx statuses with their body (the caller classifies them)', async () => {
    const res = await get('/status-429');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    expect(await res.text()).toContain('slow down');
  });

  it('reads a large body whole without stalling (no backpressure for a whole-body reader)', async () => {
    const res = await get('/large');
    const body = JSON.parse(await res.text()) as { data: string };
    expect(body.data.length).toBe(3 * 1024 * 1024);
  });

  it('hands chunks over as they arrive', async () => {
    const res = await get('/chunks');
    const seen: string[] = [];
    for await (const chunk of res.body) seen.push(Buffer.from(chunk).toString());
    expect(seen.join('')).toBe('part0;part1;part2;');
    // Sent 20 ms apart, so they were not all gathered into one.
    expect(seen.length).toBeGreaterThan(1);
  });

  it('pauses the socket while the body reader is behind (backpressure)', async () => {
    const res = await get('/firehose');
    const iterator = res.body[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((r) => setTimeout(r, 300));
    const stalledAt = written;
    // Without backpressure loopback would accept hundreds of megabytes in 300 ms; with it, the
    // server stops after our buffer and the kernel's socket buffers are full.
    expect(stalledAt).toBeLessThan(32 * 1024 * 1024);
    let read = 0;
    for (let i = 0; i < 50; i++) {
      const next = await iterator.next();
      if (next.done) break;
      read += next.value.length;
    }
    expect(read).toBeGreaterThan(0);
    await iterator.return?.();
  });

  it('closes the connection when the reader stops early', async () => {
    const res = await get('/firehose');
    for await (const _ of res.body) break;
    await waitFor(() => closed.includes('/firehose'));
  });

  it('rejects with the abort reason when aborted before the response', async () => {
    const controller = new AbortController();
    const pending = get('/slow-headers', controller.signal);
    setTimeout(() => controller.abort(new Error('caller left')), 30);
    await expect(pending).rejects.toThrow('caller left');
    await waitFor(() => closed.includes('/slow-headers'));
  });

  it('rejects at once for a signal that is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(get('/json', controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails the body reader when aborted mid-body', async () => {
    const controller = new AbortController();
    const res = await get('/chunks', controller.signal);
    const iterator = res.body[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort(new Error('stop reading'));
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done) return;
      })(),
    ).rejects.toThrow('stop reading');
  });

  it('fails the body reader when the connection is cut mid-body', async () => {
    const res = await get('/cut');
    const chunks: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of res.body) chunks.push(Buffer.from(chunk).toString());
      })(),
    ).rejects.toThrow();
    expect(chunks.join('')).toBe('data: one\n\n');
  });

  it('dump() discards the body and keeps the connection for the next request', async () => {
    const before = connections.length;
    const res = await get('/json');
    await res.dump();
    const again = await get('/json');
    expect(again.status).toBe(200);
    await again.text();
    expect(connections.length - before).toBeLessThanOrEqual(1);
  });

  it('never follows a redirect', async () => {
    const res = await get('/redirect');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/json');
    await res.dump();
  });
});

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
