import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Virtual keys look like `kh_<22 base62 chars of randomness><6 base62 chars of CRC32>`.
 *
 * - The `kh_` prefix lets secret scanners (and people) recognise a leaked key.
 * - 22 base62 characters carry 22 × log2(62) ≈ 131 bits of entropy.
 * - The CRC32 suffix lets the gateway reject typos and garbage before any lookup, the way
 *   GitHub's and Unkey's tokens do; it is not a security measure.
 * - Only the SHA-256 of the whole key is stored; the key is shown once, at creation.
 */
export const VIRTUAL_KEY_PREFIX = 'kh_';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 22;
const CHECKSUM_LENGTH = 6;
const KEY_LENGTH = VIRTUAL_KEY_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
const SHAPE = /^kh_[0-9A-Za-z]{28}$/;

/** A freshly generated virtual key: the key itself (show it once), and what may be stored. */
export interface GeneratedVirtualKey {
  /** The key. Give it to its owner once; never store or log it. */
  key: string;
  /** SHA-256 of the key, hex: the only form that is stored. */
  hash: string;
  /** A short visible prefix (`kh_` + 4 characters) to recognise the key in lists. */
  prefix: string;
  /** The last 4 characters, shown as `…abcd`. */
  hint: string;
}

/**
 * Generates a virtual key.
 *
 * @example
 * const { key, hash, prefix, hint } = generateVirtualKey();
 * await store.insertVirtualKey({ tenantId, hash, prefix, hint }); // show `key` to the user once
 */
export function generateVirtualKey(): GeneratedVirtualKey {
  const body = randomBase62(RANDOM_LENGTH);
  const key = VIRTUAL_KEY_PREFIX + body + checksumOf(VIRTUAL_KEY_PREFIX + body);
  return {
    key,
    hash: hashVirtualKey(key),
    prefix: key.slice(0, VIRTUAL_KEY_PREFIX.length + 4),
    hint: `…${key.slice(-4)}`,
  };
}

/** True when `key` has the virtual key shape and its checksum matches. No lookup, no hashing. */
export function checkVirtualKeyFormat(key: string): boolean {
  if (key.length !== KEY_LENGTH || !SHAPE.test(key)) return false;
  const body = key.slice(0, KEY_LENGTH - CHECKSUM_LENGTH);
  return key.slice(-CHECKSUM_LENGTH) === checksumOf(body);
}

/**
 * SHA-256 of a virtual key, lower-case hex: the value stored and looked up. Digested straight to
 * hex: on Node 20 `hash(…, 'hex')` takes ~0.8 µs where `'buffer'` takes ~2 µs.
 */
export function hashVirtualKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** Compares two hex hashes in constant time (lengths are public: both are SHA-256). */
export function hashesEqual(a: string, b: string): boolean {
  return digestMatches(a, Buffer.from(b, 'hex'));
}

/** Whether a stored hex hash is `digest`, compared in constant time. */
export function digestMatches(storedHex: string, digest: Buffer): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  return stored.length === digest.length && stored.length > 0 && timingSafeEqual(stored, digest);
}

function checksumOf(text: string): string {
  let n = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Uniform base62 by rejection sampling (bytes ≥ 248 are redrawn, so no character is favoured). */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}
