import { describe, expect, it } from 'vitest';
import { checkVirtualKeyFormat, generateVirtualKey, hashesEqual, hashVirtualKey } from './virtual-key.js';

describe('virtual keys', () => {
  it('are prefixed, 31 characters of base62, with a valid checksum and a SHA-256 hash', () => {
    const { key, hash, prefix, hint } = generateVirtualKey();
    expect(key).toMatch(/^kh_[0-9A-Za-z]{28}$/);
    expect(checkVirtualKeyFormat(key)).toBe(true);
    expect(hash).toBe(hashVirtualKey(key));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(key.startsWith(prefix)).toBe(true);
    expect(hint).toBe(`…${key.slice(-4)}`);
  });

  it('are unique (≥128 bits of randomness)', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateVirtualKey().key));
    expect(keys.size).toBe(2000);
  });

  it('reject any single-character change through the checksum, before any lookup', () => {
    const { key } = generateVirtualKey();
    for (let i = 3; i < key.length; i++) {
      const changed = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
      expect(checkVirtualKeyFormat(changed)).toBe(false);
    }
    expect(checkVirtualKeyFormat(`sk_${key.slice(3)}`)).toBe(false);
    expect(checkVirtualKeyFormat(`${key}x`)).toBe(false);
    expect(checkVirtualKeyFormat('')).toBe(false);
  });

  it('compare hashes in constant time and only equal ones match', () => {
    const a = hashVirtualKey('kh_a');
    expect(hashesEqual(a, a)).toBe(true);
    expect(hashesEqual(a, hashVirtualKey('kh_b'))).toBe(false);
    expect(hashesEqual(a, 'zz')).toBe(false);
  });
});
