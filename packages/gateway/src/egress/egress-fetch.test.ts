import type { LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../../core/test/support/upstream-server.js';
import { createWebhookDeliverer } from '../limits/webhook-deliverer.js';
import { verifyWebhook } from '../limits/webhook-signature.js';
import { createEgressAgent } from './egress-agent.js';
import { egressFetch } from './egress-fetch.js';
import { createSsrfPolicy } from './ssrf-policy.js';

/** A name that DNS (here, a table) answers with loopback: DNS rebinding, as seen at connect time. */
const rebinding = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

describe('webhook delivery through the egress agent', () => {
  let receiver: Upstream;
  const policy = createSsrfPolicy();
  const agent = createEgressAgent({ policy, lookup: rebinding });
  const deliverer = createWebhookDeliverer({ fetch: egressFetch(agent), maxAttempts: 1 });

  beforeAll(async () => {
    receiver = await startUpstream((_r, res) => {
      res.writeHead(200);
      res.end();
    });
  });
  afterAll(async () => {
    await agent.close();
    await receiver?.close();
  });

  it('refuses loopback, by address or by a name resolving to it, until the allow-list permits it', async () => {
    const port = new URL(receiver.url).port;
    const delivery = { secret: 'whsec_test', type: 'budget.threshold', data: { n: 1 } };
    for (const url of [`${receiver.url}/h`, `http://hooks.example:${port}/h`]) {
      expect(await deliverer.deliver({ ...delivery, url }), url).toEqual({ delivered: false, attempts: 1 });
    }
    expect(receiver.requests).toHaveLength(0);

    policy.setAllowList(['127.0.0.1']);
    const result = await deliverer.deliver({ ...delivery, url: `${receiver.url}/h` });
    expect(result).toEqual({ delivered: true, attempts: 1, status: 200 });
    const [request] = receiver.requests;
    expect(
      verifyWebhook(
        'whsec_test',
        request!.rawBody.toString('utf8'),
        request!.headers['keyhold-signature'] as string,
      ),
    ).toBe(true);
  });
});
