import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { createUndiciTransport } from '@keyhold/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startUpstream, type Upstream } from '../../../core/test/support/upstream-server.js';
import { createEgressAgent } from './egress-agent.js';
import { EgressRefusedError } from './egress-error.js';
import { createSsrfPolicy } from './ssrf-policy.js';

/** A resolver that answers from a table, the way a hostile DNS server could. */
function fakeDns(table: Record<string, string[]>): LookupFunction & { asked: string[] } {
  const asked: string[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses) {
      callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
      return;
    }
    const answers: LookupAddress[] = addresses.map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
    }));
    if (options.all) callback(null, answers);
    else callback(null, answers[0]!.address, answers[0]!.family);
  }) as unknown as LookupFunction & { asked: string[] };
  lookup.asked = asked;
  return lookup;
}

async function refusal(promise: Promise<unknown>): Promise<EgressRefusedError> {
  try {
    await promise;
  } catch (error) {
    let current: unknown = error;
    while (current instanceof Error) {
      if (current instanceof EgressRefusedError) return current;
      current = current.cause;
    }
    throw error;
  }
  throw new Error('expected the connection to be refused');
}

describe('egress agent: connect-time check after DNS resolution', () => {
  let upstream: Upstream;
  let other: Upstream;
  let port: string;
  beforeAll(async () => {
    upstream = await startUpstream((_r, res) => sendJson(res, 200, { ok: true }));
    other = await startUpstream((_r, res) => sendJson(res, 200, { reached: 'other' }));
    port = new URL(upstream.url).port;
  });
  afterAll(async () => {
    await upstream.close();
    await other.close();
  });

  it('refuses a host name that resolves to 127.0.0.1 (DNS rebinding), and never connects', async () => {
    const policy = createSsrfPolicy();
    // Passes the save-time check: a public-looking https name...
    expect(policy.checkUrl(`https://rebind.example.com:${port}/v1`)).toEqual({ ok: true });
    // ...that resolves to loopback when the connection is made.
    const lookup = fakeDns({ 'rebind.example.com': ['127.0.0.1'], localhost: ['127.0.0.1'] });
    const agent = createEgressAgent({ policy, lookup });
    const before = upstream.requests.length;
    try {
      for (const host of ['rebind.example.com', 'localhost']) {
        const error = await refusal(
          agent.request({ origin: `http://${host}:${port}`, path: '/', method: 'GET' }),
        );
        expect(error.reason).toBe('loopback');
        expect(error.host).toBe(host);
      }
      expect(lookup.asked).toEqual(['rebind.example.com', 'localhost']);
      expect(upstream.requests.length).toBe(before);
    } finally {
      await agent.close();
    }
  });

  it('refuses when any one of several answers is disallowed', async () => {
    const lookup = fakeDns({ 'mixed.example.com': ['93.184.216.34', '169.254.169.254'] });
    const agent = createEgressAgent({ policy: createSsrfPolicy(), lookup });
    try {
      const error = await refusal(
        agent.request({ origin: `http://mixed.example.com:${port}`, path: '/', method: 'GET' }),
      );
      expect(error.reason).toBe('metadata');
    } finally {
      await agent.close();
    }
  });

  it('refuses IP literals (which skip DNS) in every spelling', async () => {
    const agent = createEgressAgent({ policy: createSsrfPolicy(), lookup: fakeDns({}) });
    const before = upstream.requests.length;
    try {
      for (const origin of [
        `http://127.0.0.1:${port}`,
        `http://2130706433:${port}`,
        `http://0x7f.1:${port}`,
        `http://127.1:${port}`,
        `http://[::ffff:127.0.0.1]:${port}`,
      ]) {
        const error = await refusal(agent.request({ origin, path: '/', method: 'GET' }));
        expect(error.reason, origin).toBe('loopback');
      }
      expect(upstream.requests.length).toBe(before);
    } finally {
      await agent.close();
    }
  });

  it('connects when the operator allow-lists the host or its address', async () => {
    const lookup = fakeDns({ 'vllm.internal': ['127.0.0.1'] });
    const byName = createEgressAgent({ policy: createSsrfPolicy({ allowList: ['vllm.internal'] }), lookup });
    const byAddress = createEgressAgent({ policy: createSsrfPolicy({ allowList: ['127.0.0.0/8'] }) });
    try {
      const a = await byName.request({ origin: `http://vllm.internal:${port}`, path: '/a', method: 'GET' });
      expect(a.statusCode).toBe(200);
      await a.body.dump();
      const b = await byAddress.request({ origin: upstream.url, path: '/b', method: 'GET' });
      expect(b.statusCode).toBe(200);
      await b.body.dump();
      expect(upstream.requests.map((r) => r.path).slice(-2)).toEqual(['/a', '/b']);
    } finally {
      await byName.close();
      await byAddress.close();
    }
  });

  it("core's transport does not follow redirects through the agent", async () => {
    upstream.handle((_r, res) => {
      res.writeHead(302, { location: `${other.url}/stolen` });
      res.end();
    });
    const agent = createEgressAgent({ policy: createSsrfPolicy({ allowList: ['127.0.0.1'] }) });
    const transport = createUndiciTransport({ dispatcher: agent });
    try {
      const response = await transport.request({
        url: `${upstream.url}/v1/chat/completions`,
        method: 'POST',
        headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status).toBe(302);
      await response.dump();
      expect(other.requests).toHaveLength(0);
    } finally {
      upstream.handle((_r, res) => sendJson(res, 200, { ok: true }));
      await agent.close();
    }
  });
});

describe('egress agent: connection pool', () => {
  it('holds as many concurrent upstream requests as there are open streams (no per-origin cap)', async () => {
    const concurrent = 300;
    let release: () => void = () => {};
    const allArrived = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = 0;
    // Answers nobody until every request is open at once, as 300 slow streams would be.
    const upstream = await startUpstream(async (_request, res) => {
      if (++arrived === concurrent) release();
      await allArrived;
      sendJson(res, 200, { ok: true });
    });
    try {
      const policy = createSsrfPolicy({ allowList: ['127.0.0.1'] });
      const transport = createUndiciTransport({ dispatcher: createEgressAgent({ policy }) });
      const answers = await Promise.all(
        Array.from({ length: concurrent }, () =>
          transport.request({ url: `${upstream.url}/v1/x`, method: 'GET', headers: {} }).then(async (r) => {
            await r.text();
            return r.status;
          }),
        ),
      );
      expect(arrived).toBe(concurrent);
      expect(answers.every((status) => status === 200)).toBe(true);
    } finally {
      release();
      await upstream.close();
    }
  }, 30_000);
});
