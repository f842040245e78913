import { describe, expect, it } from 'vitest';
import { periodWindow } from './budget-period.js';

describe('periodWindow (UTC)', () => {
  it('days run from 00:00 to 24:00 UTC', () => {
    const w = periodWindow('day', Date.UTC(2026, 10, 23, 23, 59, 59, 999));
    expect(w).toEqual({ key: '2026-11-23', startMs: Date.UTC(2026, 10, 23), endMs: Date.UTC(2026, 10, 24) });
    expect(periodWindow('day', Date.UTC(2026, 10, 24)).key).toBe('2026-11-24');
  });

  it('months run from the 1st, across year ends and leap Februaries', () => {
    expect(periodWindow('month', Date.UTC(2026, 11, 31, 23, 0))).toEqual({
      key: '2026-12',
      startMs: Date.UTC(2026, 11, 1),
      endMs: Date.UTC(2027, 0, 1),
    });
    const feb = periodWindow('month', Date.UTC(2028, 1, 29, 12));
    expect(feb.key).toBe('2028-02');
    expect(feb.endMs - feb.startMs).toBe(29 * 86_400_000);
  });

  it('reuses the last window within its period, and leaves it at either edge', () => {
    const noon = periodWindow('day', Date.UTC(2026, 10, 23, 12));
    expect(periodWindow('day', Date.UTC(2026, 10, 23, 23, 59))).toBe(noon);
    expect(Object.isFrozen(noon)).toBe(true);
    // A clock stepping back over midnight gets the earlier day, not the cached one.
    expect(periodWindow('day', Date.UTC(2026, 10, 22, 23, 59, 59, 999)).key).toBe('2026-11-22');
    expect(periodWindow('day', Date.UTC(2026, 10, 24)).key).toBe('2026-11-24');
    expect(periodWindow('month', Date.UTC(2026, 10, 23)).key).toBe('2026-11');
    expect(periodWindow('day', Date.UTC(2026, 10, 23, 6)).key).toBe('2026-11-23');
  });
});
