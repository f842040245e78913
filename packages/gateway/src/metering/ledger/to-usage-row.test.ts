import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { UsageEvent } from '../usage-sink.js';
import { toUsageRow, toUsageRowJson } from './to-usage-row.js';

const base: UsageEvent = {
  requestId: 'req_0123456789abcdef01234567',
  attempt: 1,
  tenantId: randomUUID(),
  userId: randomUUID(),
  virtualKeyId: randomUUID(),
  credentialId: randomUUID(),
  keySource: 'tenant',
  provider: 'openai',
  model: 'gpt-4o-mini',
  operation: 'chat',
  inputTokens: 21,
  outputTokens: 20,
  costMicros: 16,
  priced: true,
  estimated: false,
  latencyMs: 3.4,
  status: 'ok',
  at: Date.UTC(2026, 11, 7, 18, 0, 0, 5),
};

// Text JSON must escape, text it must not, and text it writes as it is.
const awkward = [
  '',
  'plain',
  'a"b',
  'back\\slash',
  'tab\there',
  'new\nline',
  '\u0000',
  '\u007f',
  'ü',
  '日本',
  '😀',
  '\ud800',
  'x\udfffy',
  '</script>',
  "it's",
  'DEL\u007f',
];
const numbers = [0, 1, 7.5, -3, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 40, 1e300, -0, 32_768, 2 ** 31];

describe('toUsageRowJson', () => {
  it('writes the text JSON.stringify writes of the row, for plain events', () => {
    expect(toUsageRowJson(base)).toBe(JSON.stringify(toUsageRow(base)));
    expect(JSON.parse(toUsageRowJson(base))).toEqual(toUsageRow(base));
  });

  it('is the same text for every awkward string, number and missing field', () => {
    const variants: UsageEvent[] = [];
    for (const text of awkward) {
      variants.push(
        { ...base, requestId: text },
        { ...base, model: text, provider: text },
        { ...base, tenantId: text, userId: text, virtualKeyId: text, credentialId: text },
        { ...base, status: 'error', errorClass: text as UsageEvent['errorClass'] },
        { ...base, keySource: text as UsageEvent['keySource'], operation: text as UsageEvent['operation'] },
      );
    }
    for (const n of numbers) {
      variants.push(
        { ...base, attempt: n, latencyMs: n, upstreamStatus: n, at: n },
        {
          ...base,
          inputTokens: n,
          outputTokens: n,
          cachedInputTokens: n,
          cacheWriteInputTokens: n,
          reasoningTokens: n,
          costMicros: n,
        },
      );
    }
    const { userId: _u, credentialId: _c, ...bare } = base;
    variants.push(
      bare as UsageEvent,
      { ...base, upstreamStatus: 503, status: 'error', errorClass: 'provider_unavailable' },
      { ...base, at: -1 },
      { ...base, at: 9e15 },
      { ...base, priced: 1 as unknown as boolean, estimated: 'yes' as unknown as boolean },
    );
    for (const event of variants) {
      const text = toUsageRowJson(event);
      // NaN and out-of-range times fall back to the clock: compare with that part masked.
      const expected = JSON.stringify(toUsageRow(event));
      const mask = (s: string) =>
        Number.isFinite(event.at) && Math.abs(event.at) <= 8.64e15
          ? s
          : s.replace(/"occurred_at":"[^"]*"/, '');
      expect(mask(text)).toBe(mask(expected));
      expect(() => JSON.parse(text)).not.toThrow();
    }
  });
});
