import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.js';

describe('isoTime', () => {
  it('writes the time exactly as toISOString does, across seconds, days and years', () => {
    const starts = [0, Date.UTC(2026, 11, 3, 23, 59, 59, 990), Date.UTC(2027, 0, 1), Date.now()];
    for (const start of starts) {
      for (let ms = start; ms < start + 2_100; ms += 7) {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }
    }
    // Back in time (a clock step) as well.
    expect(isoTime(starts[1]!)).toBe(new Date(starts[1]!).toISOString());
  });

  it('leaves times outside 1970-9999 to toISOString', () => {
    for (const ms of [-1, -86_400_001, 253_402_300_800_000, 8.64e15, -8.64e15]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });

  it('drops the fraction of a millisecond as a Date does', () => {
    for (const ms of [0.5, 1_764_777_600_123.999, 1_764_777_600_009.5]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
