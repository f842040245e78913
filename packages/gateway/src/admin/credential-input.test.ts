import { lookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startUpstream, type Upstream } from '../../../core/test/support/upstream-server.js';
import { BACKENDS } from '../store/testing/backends.js';
import {
  type AdminHarness,
  allAuditEvents,
  type SeededTenant,
  seedTenant,
  startAdmin,
} from './testing/admin-harness.js';

/** An OpenAI-compatible chat completion (what vLLM answers), hand-made after the OpenAI spec. */
const completion = {
  id: 'chatcmpl-val-1',
  object: 'chat.completion',
  created: 1_732_000_000,
  model: 'served-model',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'p' }, finish_reason: 'length', logprobs: null },
  ],
  usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
};
/** OpenAI's 401 body; it echoes part of the key, as the real one does. */
const unauthorized = (key: string) => ({
  error: {
    message: `Incorrect API key provided: ${key.slice(0, 3)}***${key.slice(-4)}.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
});

/** DNS as an attacker could run it: rebind.example.com answers 127.0.0.1. */
const rebindingDns = ((
  hostname: string,
  options: { all?: boolean },
  callback: (...args: unknown[]) => void,
) => {
  if (hostname !== 'rebind.example.com') return lookup(hostname, options, callback as never);
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

for (const backend of BACKENDS) {
  describe(`credential input on ${backend}`, () => {
    let h: AdminHarness;
    let t: SeededTenant;
    let upstream: Upstream;
    let url: string;
    beforeAll(async () => {
      upstream = await startUpstream((request, res) => {
        const auth = String(request.headers.authorization ?? '');
        if (auth === 'Bearer sk-vllm-good-key-0001') sendJson(res, 200, completion);
        else sendJson(res, 401, unauthorized(auth.slice(7)));
      });
      h = await startAdmin(backend, { egressLookup: rebindingDns });
      t = await seedTenant(h, 'Inputs');
      url = `/api/v1/tenants/${t.id}/credentials`;
    });
    afterAll(async () => {
      await h?.close();
      await upstream?.close();
    });

    const put = (provider: string, body: unknown, query = '') =>
      h.call({ key: t.admin.key }, 'PUT', `${url}/${provider}${query}`, { body });

    it('unknown provider → 400 naming provider', async () => {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const r = await h.call(
          { key: t.admin.key },
          method,
          `${url}/no-such-llm`,
          method === 'PUT' ? { body: { apiKey: 'k-1234' } } : {},
        );
        expect(r.status, method).toBe(400);
        expect(r.body.error.field).toBe('provider');
      }
    });

    it.each([
      [
        'azure',
        { endpoint: 'https://a.openai.azure.com', apiVersion: '2024-10-21', deployment: 'd' },
        'apiKey',
      ],
      ['azure', { apiKey: 'k-az-1234', apiVersion: '2024-10-21', deployment: 'd' }, 'endpoint'],
      [
        'azure',
        { apiKey: 'k-az-1234', endpoint: 'https://a.openai.azure.com', deployment: 'd' },
        'apiVersion',
      ],
      [
        'azure',
        { apiKey: 'k-az-1234', endpoint: 'https://a.openai.azure.com', apiVersion: '2024-10-21' },
        'deployment',
      ],
      [
        'azure',
        {
          apiKey: 'k-az-1234',
          endpoint: 'https://a.openai.azure.com',
          apiVersion: 'latest',
          deployment: 'd',
        },
        'apiVersion',
      ],
      ['vllm', { apiKey: 'k-vllm-1234' }, 'baseURL'],
      ['openai-compatible', { apiKey: 'k-oc-1234' }, 'baseURL'],
      ['bedrock', { apiKey: 'k-bedrock-1234' }, 'region'],
      ['bedrock', { region: 'us-east-1' }, 'apiKey'],
      ['bedrock', { region: 'us-east-1', accessKeyId: 'AKIAEXAMPLE1234' }, 'secretAccessKey'],
      ['bedrock', { region: 'mars-1', apiKey: 'k-bedrock-1234' }, 'region'],
      ['openai', {}, 'apiKey'],
      ['openai', { apiKey: 'sk-1234', baseURL: 'https://evil.example/v1' }, 'baseURL'],
      ['groq', { apiKey: 'gsk-1234', purpose: 'embedding' }, 'purpose'],
      ['openai', { apiKey: 'sk-1234', tenant_id: '00000000-0000-0000-0000-000000000001' }, 'tenant_id'],
      ['openai', { apiKey: '' }, 'apiKey'],
    ])('%s %j → 400 naming %s', async (provider, body, field) => {
      const r = await put(provider, body);
      expect(r.status).toBe(400);
      expect(r.body.error.field).toBe(field);
    });

    it('Bedrock with a region and either an API key or an access key pair is accepted', async () => {
      expect((await put('bedrock', { region: 'eu-west-1', apiKey: 'bedrock-api-key-1111' })).status).toBe(
        200,
      );
      const pair = await put('bedrock', {
        region: 'eu-west-1',
        accessKeyId: 'AKIAEXAMPLE00001',
        secretAccessKey: 'secret-access-key-2222',
      });
      expect(pair.status).toBe(200);
      expect(pair.body.fields).toEqual({ region: 'eu-west-1' });
    });

    it.each([
      ['vllm', 'baseURL', 'http://169.254.169.254/'],
      ['vllm', 'baseURL', 'https://169.254.169.254/latest'],
      ['vllm', 'baseURL', 'http://localhost:8000/v1'],
      ['vllm', 'baseURL', 'https://localhost:8000/v1'],
      ['vllm', 'baseURL', 'https://2130706433/v1'],
      ['vllm', 'baseURL', 'https://0x7f.1/v1'],
      ['vllm', 'baseURL', 'https://127.1/v1'],
      ['vllm', 'baseURL', 'https://0177.0.0.1/v1'],
      ['vllm', 'baseURL', 'https://[::ffff:127.0.0.1]/v1'],
      ['vllm', 'baseURL', 'https://[::1]/v1'],
      ['vllm', 'baseURL', 'https://10.1.2.3/v1'],
      ['vllm', 'baseURL', 'https://192.168.1.1/v1'],
      ['vllm', 'baseURL', 'https://172.20.0.1/v1'],
      ['vllm', 'baseURL', 'https://[fc00::1]/v1'],
      ['vllm', 'baseURL', 'https://[fe80::1]/v1'],
      ['vllm', 'baseURL', 'https://[fd00:ec2::254]/'],
      ['vllm', 'baseURL', 'https://metadata.google.internal/'],
      ['vllm', 'baseURL', 'https://0.0.0.0/'],
      ['vllm', 'baseURL', 'https://user@vllm.example.com/v1'],
      ['vllm', 'baseURL', 'https://vllm.example.com@127.0.0.1/v1'],
      ['vllm', 'baseURL', 'http://vllm.example.com/v1'],
      ['vllm', 'baseURL', 'file:///etc/passwd'],
      ['azure', 'endpoint', 'http://169.254.169.254/'],
      ['azure', 'endpoint', 'https://2130706433/'],
      ['azure', 'endpoint', 'https://me:pw@acme.openai.azure.com'],
    ])('%s %s %s → 400 naming the field, nothing stored', async (provider, field, value) => {
      const body =
        provider === 'azure'
          ? { apiKey: 'k-az-1234', endpoint: value, apiVersion: '2024-10-21', deployment: 'd' }
          : { apiKey: 'k-vllm-1234', baseURL: value };
      const before = await h.database.db.selectFrom('credentials').select('id').execute();
      const r = await put(provider, body);
      expect(r.status).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(await h.database.db.selectFrom('credentials').select('id').execute()).toHaveLength(
        before.length,
      );
    });

    it('an allow-listed local endpoint is accepted over http', async () => {
      expect((await put('vllm', { apiKey: 'k-vllm-1234', baseURL: `${upstream.url}/v1` })).status).toBe(400);
      await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: ['127.0.0.1'] } });
      try {
        const r = await put('vllm', { apiKey: 'k-vllm-1234', baseURL: `${upstream.url}/v1` });
        expect(r.status).toBe(200);
        expect(r.body.fields).toEqual({ baseURL: `${upstream.url}/v1` });
      } finally {
        await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: [] } });
      }
    });

    it('?validate=true checks the key with a one-token call and stores the verdict', async () => {
      await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: ['127.0.0.1'] } });
      try {
        const noModel = await put(
          'vllm',
          { apiKey: 'sk-vllm-good-key-0001', baseURL: `${upstream.url}/v1` },
          '?validate=true',
        );
        expect(noModel.status).toBe(400);
        expect(noModel.body.error.field).toBe('model');

        const calls = upstream.requests.length;
        const good = await put(
          'vllm',
          { apiKey: 'sk-vllm-good-key-0001', baseURL: `${upstream.url}/v1` },
          '?validate=true&model=served-model',
        );
        expect(good.status).toBe(200);
        expect(good.body).toMatchObject({ status: 'active', validation: { result: 'valid' } });
        expect(good.body.validated_at).not.toBeNull();
        const sent = upstream.requests.slice(calls);
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
        expect(sent[0]!.body).toMatchObject({ model: 'served-model', max_tokens: 1 });

        const bad = await put(
          'vllm',
          { apiKey: 'sk-vllm-bad-key-0002', baseURL: `${upstream.url}/v1` },
          '?validate=true&model=served-model',
        );
        expect(bad.status).toBe(200);
        expect(bad.body).toMatchObject({
          status: 'invalid',
          validation: { result: 'invalid', code: 'authentication_error' },
        });
        expect(bad.text).not.toContain('Incorrect API key');
        const row = await h.database.db
          .selectFrom('credentials')
          .select(['status', 'validatedAt'])
          .where('id', '=', bad.body.id)
          .executeTakeFirstOrThrow();
        expect(row.status).toBe('invalid');
        expect(row.validatedAt).toBeInstanceOf(Date);
        const events = await allAuditEvents(h);
        expect(events.at(-1)).toMatchObject({
          action: 'credential.set',
          details: { validation: 'invalid', hint: '…0002' },
        });
      } finally {
        await h.call('operator', 'PUT', '/api/v1/egress/allow-list', { body: { hosts: [] } });
      }
    });

    it('validation connects through the egress guard: a name that resolves to 127.0.0.1 is refused at connect time', async () => {
      const calls = upstream.requests.length;
      const port = new URL(upstream.url).port;
      // A public https name passes the save-time check; its DNS answer is loopback (rebinding).
      const r = await put(
        'vllm',
        { apiKey: 'sk-vllm-good-key-0001', baseURL: `https://rebind.example.com:${port}/v1` },
        '?validate=true&model=served-model',
      );
      expect(r.status).toBe(200);
      expect(r.body.validation).toMatchObject({ result: 'unverified' });
      expect(r.body.status).toBe('active');
      expect(r.body.validated_at).toBeNull();
      expect(upstream.requests.length).toBe(calls);
    });
  });
}
