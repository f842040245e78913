import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { sql } from 'kysely';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import { BACKENDS } from '../src/store/testing/backends.js';
import { type LedgerGateway, startLedgerGateway } from './support/ledger-store.js';
import { openAIServerError, openAIWire } from './support/metered-upstream.js';

/*
 * Through the durable ledger on PostgreSQL / PGlite: every call's event is journaled before the
 * client sees the response complete (checked synchronously when the client's read ends), and the
 * stored rows reconcile exactly with the token counts the local upstream returned — streamed,
 * non-streamed, embeddings, streams without provider usage (counted), streams aborted by the
 * client or cut by the upstream, and failures. The rollup equals the sums of the rows.
 */

const OVERRIDES = [
  { provider: 'openai', model: 'metered-model', inputPerMTok: 2, cachedInputPerMTok: 1, outputPerMTok: 4 },
];
const MODEL = 'openai/metered-model';
const PIECES = Array.from({ length: 40 }, (_, i) => ` word${i}`);

for (const backend of BACKENDS) {
  describe(`usage ledger reconciliation on ${backend}`, () => {
    let upstream: Upstream;
    let h: LedgerGateway;
    /** What each request should have stored, by request id. */
    const expected = new Map<string, Record<string, unknown>>();

    beforeAll(async () => {
      upstream = await startUpstream(openAIWire({ usage: { prompt: 1, completion: 1 } }));
      // No timed flush during the test: the journal is what holds the events until `flush()`.
      h = await startLedgerGateway(backend, upstream.url, {
        overrides: OVERRIDES,
        ledger: { flushIntervalMs: 600_000 },
      });
    });
    afterAll(async () => {
      await h?.close();
      await upstream?.close();
    });

    const openai = () => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: h.tenant.key, maxRetries: 0 });
    const recorded = () => h.ledger.stats().recorded;
    const journaled = (requestId: string) =>
      readdirSync(h.dir)
        .filter((f) => f.startsWith('usage-'))
        .some((f) => readFileSync(join(h.dir, f), 'utf8').includes(`"request_id":"${requestId}"`));

    it('non-streamed: journaled before the body is sent; tokens and cost as the upstream reported', async () => {
      upstream.handle(openAIWire({ usage: { prompt: 31, completion: 7, cached: 10, reasoning: 3 } }));
      const before = recorded();
      const { response } = await openai()
        .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse();
      const id = response.headers.get('x-request-id')!;
      expect(recorded()).toBe(before + 1);
      expect(journaled(id)).toBe(true);
      expected.set(id, {
        input_tokens: '31',
        output_tokens: '7',
        cached_input_tokens: '10',
        reasoning_tokens: '3',
        cost_micros: '80',
        estimated: false,
        status: 'ok',
      });
    });

    it('streamed with provider usage: journaled before [DONE] (OpenAI) and message_stop (Anthropic)', async () => {
      upstream.handle(openAIWire({ usage: { prompt: 12, completion: 40 }, pieces: PIECES }));
      let before = recorded();
      const { data: stream, response } = await openai()
        .chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Count' }],
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
      for await (const _ of stream) {
        // read to [DONE]
      }
      expect(recorded()).toBe(before + 1);
      const common = {
        input_tokens: '12',
        output_tokens: '40',
        cost_micros: '184',
        estimated: false,
        status: 'ok',
      };
      expected.set(response.headers.get('x-request-id')!, common);

      before = recorded();
      const anthropic = new Anthropic({ baseURL: h.url, apiKey: h.tenant.key, maxRetries: 0 });
      const { data: events, response: aResponse } = await anthropic.messages
        .create({
          model: MODEL,
          max_tokens: 100,
          stream: true,
          messages: [{ role: 'user', content: 'Count' }],
        })
        .withResponse();
      let stopped = false;
      for await (const event of events) {
        if (event.type === 'message_stop') {
          stopped = true;
          // The moment the client sees the stream complete, the event is already journaled.
          expect(recorded()).toBe(before + 1);
        }
      }
      expect(stopped).toBe(true);
      expected.set(aResponse.headers.get('x-request-id')!, common);
    });

    it('an upstream that keeps its body open after message_stop: the event is recorded at finish, message_stop not held back', async () => {
      // Core reads a stream to the end of its body after the last event, and reports the attempt
      // only then; the event must be recorded before the client's message_stop all the same,
      // without making the client wait for the upstream's body to end.
      upstream.handle(async (r, res) => {
        const frame = (data: Record<string, unknown>) =>
          `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          frame({
            type: 'message_start',
            message: {
              id: 'msg_slow',
              type: 'message',
              role: 'assistant',
              model: r.body.model,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: 21, output_tokens: 1 },
            },
          }) +
            frame({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
            frame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }) +
            frame({ type: 'content_block_stop', index: 0 }) +
            frame({
              type: 'message_delta',
              delta: { stop_reason: 'end_turn', stop_sequence: null },
              usage: { output_tokens: 9 },
            }) +
            frame({ type: 'message_stop' }),
        );
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        res.end();
      });
      const before = recorded();
      const anthropic = new Anthropic({ baseURL: h.url, apiKey: h.tenant.key, maxRetries: 0 });
      const { data: events, response } = await anthropic.messages
        .create({
          model: 'anthropic/claude-sonnet-4-5',
          max_tokens: 100,
          stream: true,
          messages: [{ role: 'user', content: 'Hi' }],
        })
        .withResponse();
      const started = Date.now();
      let stopAfterMs: number | undefined;
      for await (const event of events) {
        if (event.type === 'message_stop') {
          stopAfterMs = Date.now() - started;
          expect(recorded()).toBe(before + 1);
        }
      }
      expect(stopAfterMs).toBeLessThan(1_000);
      expected.set(response.headers.get('x-request-id')!, {
        input_tokens: '21',
        output_tokens: '9',
        estimated: false,
        status: 'ok',
        anthropic: true,
      });
    });

    it('a completed stream without provider usage is counted before [DONE], marked estimated', async () => {
      upstream.handle(
        openAIWire({ usage: { prompt: 99, completion: 99 }, pieces: PIECES, streamUsage: false }),
      );
      const before = recorded();
      const prompt = 'Count without usage';
      const { data: stream, response } = await openai()
        .chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: prompt }],
          stream: true,
        })
        .withResponse();
      for await (const _ of stream) {
        // read to [DONE]
      }
      expect(recorded()).toBe(before + 1);
      const input = countTokens(prompt) + 4;
      const output = countTokens(PIECES.join(''));
      expected.set(response.headers.get('x-request-id')!, {
        input_tokens: String(input),
        output_tokens: String(output),
        cost_micros: String(input * 2 + output * 4),
        estimated: true,
        status: 'ok',
      });
    });

    it('embeddings', async () => {
      upstream.handle(openAIWire({ usage: { prompt: 6, completion: 0 } }));
      const { response } = await openai()
        .embeddings.create({ model: MODEL, input: ['a', 'b'] })
        .withResponse();
      expected.set(response.headers.get('x-request-id')!, {
        operation: 'embedding',
        input_tokens: '6',
        output_tokens: '0',
        cost_micros: '12',
        status: 'ok',
      });
    });

    it('a stream aborted by the client records what was consumed, estimated', async () => {
      upstream.handle(
        openAIWire({ usage: { prompt: 99, completion: 99 }, pieces: PIECES, chunkDelayMs: 15 }),
      );
      const before = recorded();
      const controller = new AbortController();
      const prompt = 'Please count slowly';
      const { data: stream, response } = await openai()
        .chat.completions.create(
          {
            model: MODEL,
            messages: [{ role: 'user', content: prompt }],
            stream: true,
            stream_options: { include_usage: true },
          },
          { signal: controller.signal },
        )
        .withResponse();
      let received = 0;
      await (async () => {
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) received++;
          if (received === 5) controller.abort();
        }
      })().catch(() => {});
      await until(() => recorded() === before + 1);
      expected.set(response.headers.get('x-request-id')!, {
        input_tokens: String(countTokens(prompt) + 4),
        estimated: true,
        status: 'error',
        error_class: 'aborted',
        // Output: at least what the client read, at most what the upstream sent (checked below).
        output_between: [countTokens(PIECES.slice(0, 5).join('')), countTokens(PIECES.join('')) - 1],
      });
    });

    it('a stream cut by the upstream is recorded before the client sees the in-stream error', async () => {
      upstream.handle(openAIWire({ usage: { prompt: 99, completion: 99 }, pieces: PIECES, cutAfter: 11 }));
      const before = recorded();
      const { data: stream, response } = await openai()
        .chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Go' }],
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
      const failure = await (async () => {
        for await (const _ of stream) {
          // read until the in-stream error
        }
      })().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(Error);
      expect(recorded()).toBe(before + 1);
      const input = countTokens('Go') + 4;
      const output = countTokens(PIECES.slice(0, 10).join(''));
      expected.set(response.headers.get('x-request-id')!, {
        input_tokens: String(input),
        output_tokens: String(output),
        cost_micros: String(input * 2 + output * 4),
        estimated: true,
        status: 'error',
        error_class: 'provider_unavailable',
      });
    });

    it('a failed call is an event with no tokens', async () => {
      upstream.handle(openAIServerError);
      const error = await openai()
        .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .catch((e: unknown) => e);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      const id = (error as InstanceType<typeof OpenAI.APIError>).headers?.get('x-request-id');
      expected.set(id!, {
        input_tokens: '0',
        output_tokens: '0',
        cost_micros: '0',
        status: 'error',
        error_class: 'provider_unavailable',
        upstream_status: 500,
      });
    });

    it('the stored rows match, one per request; the rollup is the sum of the rows', async () => {
      await h.ledger.flush();
      const { rows } = await sql<Record<string, unknown>>`
        select request_id, attempt, tenant_id, user_id, virtual_key_id, credential_id, key_source,
          operation, input_tokens::text, output_tokens::text, cached_input_tokens::text,
          reasoning_tokens::text, cost_micros::text, estimated, status, error_class, upstream_status
        from usage_events`.execute(h.database.db);
      expect(rows).toHaveLength(expected.size);
      const t = h.tenant;
      for (const row of rows) {
        const want = { ...expected.get(row.requestId as string) };
        expect(want, `unexpected row ${String(row.requestId)}`).toBeDefined();
        const between = want.output_between as [number, number] | undefined;
        delete want.output_between;
        const viaAnthropic = want.anthropic === true;
        delete want.anthropic;
        expect(row).toMatchObject({
          attempt: 0,
          tenantId: t.tenantId,
          userId: t.userId,
          virtualKeyId: t.virtualKeyId,
          ...(viaAnthropic ? {} : { credentialId: t.credentialId }),
          keySource: 'tenant',
          ...Object.fromEntries(
            Object.entries(want).map(([k, v]) => [k.replace(/_(\w)/g, (_, c) => c.toUpperCase()), v]),
          ),
        });
        if (between) {
          expect(Number(row.outputTokens)).toBeGreaterThanOrEqual(between[0]);
          expect(Number(row.outputTokens)).toBeLessThanOrEqual(between[1]);
          expect(Number(row.costMicros)).toBe(Number(row.inputTokens) * 2 + Number(row.outputTokens) * 4);
        }
      }
      const { rows: totals } = await sql<Record<string, string>>`
        select
          (select sum(requests)::text from usage_daily) as rollup_requests,
          (select count(*)::text from usage_events) as events,
          (select sum(errors)::text from usage_daily) as rollup_errors,
          (select count(*)::text from usage_events where status = 'error') as error_events,
          (select sum(input_tokens + output_tokens)::text from usage_daily) as rollup_tokens,
          (select sum(input_tokens + output_tokens)::text from usage_events) as event_tokens,
          (select sum(cost_micros)::text from usage_daily) as rollup_cost,
          (select sum(cost_micros)::text from usage_events) as event_cost`.execute(h.database.db);
      const sums = totals[0]!;
      expect(sums.rollupRequests).toBe(sums.events);
      expect(sums.rollupErrors).toBe(sums.errorEvents);
      expect(sums.rollupTokens).toBe(sums.eventTokens);
      expect(sums.rollupCost).toBe(sums.eventCost);
      expect(readdirSync(h.dir).filter((f) => f.startsWith('usage-'))).toEqual([]);
    });
  });
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
