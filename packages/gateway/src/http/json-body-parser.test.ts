import secureJson from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { scanJson } from './json-body-parser.js';

/** Nesting depth of a parsed value, the reference the scan must agree with. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, depthOf(child)), 0);
}

/** A seeded random JSON value with strings that hold quotes, backslashes and brackets. */
function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 6 ? 4 : 7));
  const pieces = [
    'a',
    '"',
    '\\',
    '[',
    ']',
    '{',
    '}',
    ':',
    ',',
    ' ',
    '\n',
    'é',
    '\\"',
    '__proto__',
    'constructor',
  ];
  const text = () =>
    Array.from({ length: Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]).join(
      '',
    );
  switch (pick) {
    case 0:
      return text();
    case 1:
      return Math.floor(next() * 1e6) / 100;
    case 2:
      return next() < 0.5;
    case 3:
      return null;
    case 4:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) object[`k${text()}`] = randomValue(next, depth + 1);
      return object;
    }
  }
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('scanJson', () => {
  it('agrees with the parsed depth on 2,000 random documents, strings full of brackets and quotes', () => {
    const next = seeded(42);
    let deepSeen = 0;
    for (let n = 0; n < 2000; n++) {
      const text = JSON.stringify(randomValue(next, 0), null, n % 3 === 0 ? 1 : undefined);
      const depth = depthOf(JSON.parse(text));
      for (const limit of [2, 4, 64]) {
        expect(scanJson(text, limit) === 'deep', `${text} at limit ${limit}`).toBe(depth > limit);
        if (depth > limit) deepSeen++;
      }
      // Keys here start with "k": never suspect, so JSON.parse alone is safe and the same.
      if (depth <= 64) expect(scanJson(text)).toBe('plain');
    }
    expect(deepSeen).toBeGreaterThan(100);
  });

  it('finds deep nesting behind strings that end in escaped backslashes', () => {
    const text = `{"a":"x\\\\","b":"\\\\\\"[[[","c":${'['.repeat(5)}1${']'.repeat(5)}}`;
    expect(JSON.parse(text)).toBeTypeOf('object');
    expect(scanJson(text, 5)).toBe('deep');
    expect(scanJson(text, 6)).toBe('plain');
  });

  it.each([
    ['a __proto__ key', '{"__proto__":{"admin":true}}'],
    ['a nested constructor key', '{"a":[{"constructor":{"prototype":{}}}]}'],
    ['white space before the colon', '{"__proto__" \n\t: 1}'],
    ['an escaped spelling in upper-case hex', '{"\\u005F_proto__":1}'],
    ['an escaped spelling of constructor', '{"\\u0063onstru\\u0063tor":{"prototype":1}}'],
  ])('calls %s suspect, as secure-json-parse would look at it', (_name, text) => {
    expect(scanJson(text)).toBe('suspect');
  });

  it.each([
    ['the name as a value', '{"a":"__proto__","b":"constructor"}'],
    ['the name inside a longer key', '{"__proto__x":1,"my constructor":2}'],
    ['the name in an array', '["__proto__", "constructor"]'],
    ['an escaped quote before a colon in a value', '{"a":"\\"__proto__\\": 1"}'],
  ])('calls %s plain', (_name, text) => {
    expect(scanJson(text)).toBe('plain');
    // What JSON.parse gives for it is what secure-json-parse gives.
    expect(JSON.parse(text)).toEqual(
      secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
    );
  });

  it('leaves malformed text to JSON.parse', () => {
    for (const text of ['{"a":"unterminated', '{"a" 1}', '"\\"']) {
      expect(scanJson(text)).not.toBe('deep');
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
    }
  });
});
