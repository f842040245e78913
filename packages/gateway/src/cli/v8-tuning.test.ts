import { describe, expect, it } from 'vitest';
import { tuneV8ForServing } from './v8-tuning.js';

describe('tuneV8ForServing', () => {
  it("leaves pretenuring alone when the operator's node flags name it either way", () => {
    expect(tuneV8ForServing(['--allocation-site-pretenuring'])).toBe(false);
    expect(tuneV8ForServing(['--no-allocation-site-pretenuring'])).toBe(false);
    expect(tuneV8ForServing(['--max-old-space-size=512', '--allocation_site_pretenuring'])).toBe(false);
  });

  it('turns pretenuring off otherwise, other node flags notwithstanding', () => {
    expect(tuneV8ForServing(['--max-old-space-size=512', '--enable-source-maps'])).toBe(true);
    expect(tuneV8ForServing([])).toBe(true);
  });
});
