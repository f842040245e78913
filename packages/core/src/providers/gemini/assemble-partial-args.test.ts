import { describe, expect, it } from 'vitest';
import { PartialArgsAssembler, parseJsonPath } from './assemble-partial-args.js';

describe('parseJsonPath', () => {
  it('reads dotted names, quoted names and indexes', () => {
    expect(parseJsonPath('$.a.b[0].c')).toEqual(['a', 'b', 0, 'c']);
    expect(parseJsonPath(`$['a b']["c\\"d"]`)).toEqual(['a b', 'c"d']);
    expect(parseJsonPath('$')).toEqual([]);
  });

  it('refuses what it cannot read', () => {
    expect(parseJsonPath('a.b')).toBeUndefined();
    expect(parseJsonPath('$..a')).toBeUndefined();
    expect(parseJsonPath('$[*]')).toBeUndefined();
  });
});

describe('PartialArgsAssembler', () => {
  it('joins continued string pieces and sets other values', () => {
    const args = new PartialArgsAssembler();
    args.add([{ jsonPath: '$.city', stringValue: 'San ', willContinue: true }]);
    args.add([{ jsonPath: '$.city', stringValue: 'Francisco', willContinue: true }]);
    args.add([{ jsonPath: '$.city', stringValue: '' }]);
    args.add([
      { jsonPath: '$.days', numberValue: 3 },
      { jsonPath: '$.opts.metric', boolValue: false },
      { jsonPath: '$.opts.tags[0]', stringValue: 'a' },
      { jsonPath: '$.opts.tags[1]', stringValue: 'b' },
      { jsonPath: '$.note', nullValue: 'NULL_VALUE' },
    ]);
    expect(JSON.parse(args.toJson())).toEqual({
      city: 'San Francisco',
      days: 3,
      opts: { metric: false, tags: ['a', 'b'] },
      note: null,
    });
  });

  it('replaces a finished string given again instead of appending to it', () => {
    const args = new PartialArgsAssembler();
    args.add([{ jsonPath: '$.q', stringValue: 'one' }]);
    args.add([{ jsonPath: '$.q', stringValue: 'two' }]);
    expect(args.toJson()).toBe('{"q":"two"}');
  });

  it('treats __proto__ as a plain key and refuses sparse array indexes', () => {
    const args = new PartialArgsAssembler();
    args.add([{ jsonPath: '$.__proto__.polluted', boolValue: true }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(args.toJson()).toBe('{"__proto__":{"polluted":true}}');
    expect(() => args.add([{ jsonPath: '$.list[1000000]', stringValue: 'x' }])).toThrow();
    expect(() => args.add([{ jsonPath: 'nope', stringValue: 'x' }])).toThrow();
  });
});
