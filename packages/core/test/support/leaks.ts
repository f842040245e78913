import { inspect } from 'node:util';
import { serialize } from 'node:v8';
import { expect } from 'vitest';

/** Every substring of `key` of this length counts as a leak. */
export const FRAGMENT_LENGTH = 8;

/** The first fragment of `key` found in `text`, or undefined. */
export function findKeyFragment(text: string, key: string, length = FRAGMENT_LENGTH): string | undefined {
  for (let i = 0; i + length <= key.length; i++) {
    const fragment = key.slice(i, i + length);
    if (text.includes(fragment)) return fragment;
  }
  return undefined;
}

/** Asserts that no 8-character piece of any key appears in the text. */
export function expectNoKeyIn(text: string, ...keys: string[]): void {
  for (const key of keys) {
    const fragment = findKeyFragment(text, key);
    expect(fragment, `key fragment "${fragment}" leaked`).toBeUndefined();
  }
}

/** Every way a value can be printed or serialised, concatenated for a leak check. */
export function allRenderings(value: unknown): string {
  const parts: string[] = [];
  try {
    parts.push(JSON.stringify(value) ?? '');
  } catch (error) {
    parts.push(String(error));
  }
  parts.push(inspect(value, { depth: 10, showHidden: true, getters: true }));
  parts.push(String(value));
  try {
    parts.push(inspect(structuredClone(value), { depth: 10, showHidden: true }));
  } catch (error) {
    parts.push(String(error));
  }
  try {
    parts.push(serialize(value).toString('latin1'));
  } catch (error) {
    parts.push(String(error));
  }
  if (value instanceof Error)
    parts.push(value.message, value.stack ?? '', inspect(value.cause, { depth: 10 }));
  return parts.join('\n');
}

/** A canary key that looks real and is unique per test. */
export function canaryKey(prefix = 'sk-canary'): string {
  const random = Array.from(
    { length: 40 },
    () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(Math.random() * 62)],
  ).join('');
  return `${prefix}-${random}`;
}
