import { describe, expect, it } from 'vitest';
import { parseModelsFile } from './models-file.js';

describe('models file', () => {
  it('reads aliases and list from YAML and from JSON', () => {
    const yaml = parseModelsFile(
      'aliases:\n  fast: openai/gpt-4o-mini\n  smart: anthropic/claude-sonnet-4-5\nlist:\n  - openai/gpt-4o\n  - openai/gpt-4o\n',
    );
    expect(yaml).toEqual({
      ok: true,
      catalogue: {
        aliases: { fast: 'openai/gpt-4o-mini', smart: 'anthropic/claude-sonnet-4-5' },
        list: ['openai/gpt-4o'],
      },
      priceOverrides: [],
    });
    expect(parseModelsFile('{"aliases": {"quick": "fake/echo-1"}}')).toEqual({
      ok: true,
      catalogue: { aliases: { quick: 'fake/echo-1' }, list: [] },
      priceOverrides: [],
    });
    expect(parseModelsFile('')).toEqual({
      ok: true,
      catalogue: { aliases: {}, list: [] },
      priceOverrides: [],
    });
  });

  it('reads price overrides, and names a bad one', () => {
    const priced = parseModelsFile(
      'pricing:\n  overrides:\n    - { provider: vllm, model: "*", inputPerMTok: 0.1, outputPerMTok: 0.2 }\n',
    );
    expect(priced).toEqual({
      ok: true,
      catalogue: { aliases: {}, list: [] },
      priceOverrides: [{ provider: 'vllm', model: '*', inputPerMTok: 0.1, outputPerMTok: 0.2 }],
    });
    const unknown = parseModelsFile(
      'pricing:\n  overrides:\n    - { provider: nosuch, model: m, inputPerMTok: 1, outputPerMTok: 1 }\n',
    );
    expect(!unknown.ok && unknown.errors).toEqual([
      'pricing.overrides.0.provider: unknown provider "nosuch"',
    ]);
    const negative = parseModelsFile(
      'pricing:\n  overrides:\n    - { provider: vllm, model: m, inputPerMTok: -1, outputPerMTok: 1 }\n',
    );
    expect(!negative.ok && negative.errors).toEqual([
      expect.stringMatching(
        /^pricing\.overrides\.0\.inputPerMTok: Expected number to be greater or equal to 0/,
      ),
    ]);
  });

  it('reports every problem, each naming where it is', () => {
    const result = parseModelsFile(
      [
        'aliases:',
        '  fast: gpt-4o',
        '  odd: nosuch/model',
        '  "openai/gpt-4o": anthropic/claude-sonnet-4-5',
        'list:',
        '  - openai/',
      ].join('\n'),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([
      'aliases.fast: "gpt-4o" is not provider/model',
      'aliases.odd: unknown provider "nosuch" in "nosuch/model"',
      expect.stringMatching(/^aliases\.openai\/gpt-4o: an alias is 1-128 letters.*no "\/"/),
      'list.0: "openai/" is not provider/model',
    ]);
  });

  it('refuses unknown fields, wrong types and text that is not YAML', () => {
    const unknown = parseModelsFile('aliases: {}\nmodels: []\n');
    expect(!unknown.ok && unknown.errors).toEqual([
      'models: unknown field (a models file has "aliases", "list" and "pricing")',
    ]);
    const wrongType = parseModelsFile('aliases:\n  fast: 3\nlist: openai/gpt-4o\n');
    expect(!wrongType.ok && wrongType.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^aliases\.fast: Expected string/),
        expect.stringMatching(/^list: Expected array/),
      ]),
    );
    const broken = parseModelsFile('aliases: [unclosed');
    expect(!broken.ok && broken.errors[0]).toMatch(/^not valid YAML or JSON: /);
    const scalar = parseModelsFile('just a string');
    expect(scalar.ok).toBe(false);
  });
});
