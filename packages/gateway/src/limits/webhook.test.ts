import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BudgetAlert } from './budgets.js';
import { createMemoryBudgets } from './memory-budgets.js';
import { createWebhookDeliverer } from './webhook-deliverer.js';
import { signWebhook, verifyWebhook } from './webhook-signature.js';

const SECRET = 'whsec_test_3f9a1c0e7b2d4a6f8e1c3b5d7f9a0c2e';

describe('signWebhook / verifyWebhook', () => {
  const body = '{"type":"budget.threshold"}';

  it('produces t=<timestamp>,v1=<HMAC-SHA256 hex over "<timestamp>.<body>">', () => {
    // Reference value computed independently:
    // printf '1764000000.{"type":"budget.threshold"}' | openssl dgst -sha256 -hmac "$SECRET"
    const header = signWebhook(SECRET, body, 1_764_000_000);
    expect(header).toBe('t=1764000000,v1=66333053d7082ef381e217833bcfac5ae022a23d0143ce02caa2b28a20a46e27');
    expect(verifyWebhook(SECRET, body, header, { nowS: 1_764_000_000 })).toBe(true);
  });

  it('rejects a changed body, a wrong secret, a stale timestamp and garbage', () => {
    const header = signWebhook(SECRET, body, 1_764_000_000);
    expect(verifyWebhook(SECRET, `${body} `, header, { nowS: 1_764_000_000 })).toBe(false);
    expect(verifyWebhook(`${SECRET}x`, body, header, { nowS: 1_764_000_000 })).toBe(false);
    expect(verifyWebhook(SECRET, body, header, { nowS: 1_764_000_301 })).toBe(false);
    expect(verifyWebhook(SECRET, body, 'v1=abc', { nowS: 1_764_000_000 })).toBe(false);
    expect(verifyWebhook(SECRET, body, 't=1764000000,v1=zz', { nowS: 1_764_000_000 })).toBe(false);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const header = signWebhook(SECRET, body, 1_764_000_000);
    const old = signWebhook('old-secret', body, 1_764_000_000).split(',')[1];
    expect(verifyWebhook(SECRET, body, `${header},${old}`, { nowS: 1_764_000_000 })).toBe(true);
  });
});

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

/** A tenant's webhook receiver: verifies each signature, answers with the scripted statuses. */
async function startReceiver(statuses: number[]) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['keyhold-signature'] ?? '');
      received.push({ headers: req.headers, body, verified: verifyWebhook(SECRET, body, signature) });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/hooks/keyhold`, received };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('webhook deliverer', () => {
  const deliverer = createWebhookDeliverer({ baseDelayMs: 10, maxAttempts: 3 });

  it('delivers a signed JSON event the receiver can verify', async () => {
    const receiver = await startReceiver([204]);
    const result = await deliverer.deliver({
      url: receiver.url,
      secret: SECRET,
      type: 'budget.threshold',
      data: { a: 1 },
      id: 'evt_1',
    });
    expect(result).toEqual({ delivered: true, attempts: 1, status: 204 });
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    expect(got!.verified).toBe(true);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['keyhold-webhook-id']).toBe('evt_1');
    expect(JSON.parse(got!.body)).toMatchObject({ id: 'evt_1', type: 'budget.threshold', data: { a: 1 } });
  });

  it('retries 5xx and 429 with the same event id, then succeeds', async () => {
    const receiver = await startReceiver([503, 429, 200]);
    const result = await deliverer.deliver({ url: receiver.url, secret: SECRET, type: 't', data: {} });
    expect(result).toEqual({ delivered: true, attempts: 3, status: 200 });
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect(new Set(receiver.received.map((r) => r.headers['keyhold-webhook-id'])).size).toBe(1);
  });

  it('gives up after maxAttempts, and does not retry a 4xx', async () => {
    const failing = await startReceiver([500, 500, 500, 500]);
    expect(await deliverer.deliver({ url: failing.url, secret: SECRET, type: 't', data: {} })).toEqual({
      delivered: false,
      attempts: 3,
      status: 500,
    });
    const refusing = await startReceiver([400]);
    expect(await deliverer.deliver({ url: refusing.url, secret: SECRET, type: 't', data: {} })).toEqual({
      delivered: false,
      attempts: 1,
      status: 400,
    });
  });

  it('retries when the receiver is unreachable', async () => {
    const receiver = await startReceiver([]);
    const url = receiver.url;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(await deliverer.deliver({ url, secret: SECRET, type: 't', data: {} })).toEqual({
      delivered: false,
      attempts: 3,
    });
  });

  it('carries budget alerts end to end', async () => {
    const receiver = await startReceiver([200, 200]);
    const deliveries: Promise<unknown>[] = [];
    const budgets = createMemoryBudgets({
      onAlert: (alert: BudgetAlert) => {
        deliveries.push(
          deliverer.deliver({ url: receiver.url, secret: SECRET, type: 'budget.threshold', data: alert }),
        );
      },
    });
    const b = {
      id: 'b1',
      scope: { kind: 'tenant' as const, id: 't1' },
      period: 'day' as const,
      limitMicros: 1000,
      mode: 'soft' as const,
    };
    const r = await budgets.reserve({ budgets: [b], micros: 900 });
    if (!r.ok) throw new Error('expected ok');
    await budgets.settle(r.reservation, 850);
    await Promise.all(deliveries);
    expect(receiver.received.map((x) => x.verified)).toEqual([true, true]);
    expect(receiver.received.map((x) => JSON.parse(x.body).data.threshold)).toEqual([50, 80]);
  });
});
