import { describe, expect, it } from 'vitest';
import { formatResetDuration } from './rate-decision.js';

describe('formatResetDuration (Go duration strings, as OpenAI sends them)', () => {
  it.each([
    [0, '0s'],
    [12, '12ms'],
    [999, '999ms'],
    [1000, '1s'],
    [7660, '7.66s'],
    [6050, '6.05s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [90_500, '1m30.5s'],
    [3_723_000, '1h2m3s'],
    [0.2, '1ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });
});
