import { VaultError } from './vault-error.js';

/**
 * The stored blob, format version 1:
 *
 *   offset  length  field
 *   0       1       format version (1)
 *   1       4       master key version, unsigned 32-bit big-endian
 *   5       12      IV (random per encryption; GCM's recommended 96 bits)
 *   17      n       AES-256-GCM ciphertext of the UTF-8 JSON secret fields
 *   17+n    16      GCM authentication tag
 *
 * The first 5 bytes (the header) are part of the associated data, so neither version can be
 * changed without failing authentication; the IV is authenticated by GCM itself.
 */
export const FORMAT_VERSION = 1;
export const HEADER_LENGTH = 5;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;

export interface SealedParts {
  keyVersion: number;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function encodeHeader(keyVersion: number): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt8(FORMAT_VERSION, 0);
  header.writeUInt32BE(keyVersion, 1);
  return header;
}

export function encodeBlob(parts: SealedParts): Buffer {
  return Buffer.concat([encodeHeader(parts.keyVersion), parts.iv, parts.ciphertext, parts.tag]);
}

/** Splits a blob into its parts; throws `ciphertext_malformed` on anything but format 1. */
export function decodeBlob(blob: Uint8Array): SealedParts & { header: Buffer } {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < HEADER_LENGTH + IV_LENGTH + TAG_LENGTH) {
    throw new VaultError('ciphertext_malformed', 'The stored ciphertext is too short');
  }
  const format = bytes.readUInt8(0);
  if (format !== FORMAT_VERSION) {
    throw new VaultError(
      'ciphertext_malformed',
      `The stored ciphertext has unknown format version ${format}`,
    );
  }
  return {
    header: bytes.subarray(0, HEADER_LENGTH),
    keyVersion: bytes.readUInt32BE(1),
    iv: bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + IV_LENGTH),
    ciphertext: bytes.subarray(HEADER_LENGTH + IV_LENGTH, bytes.length - TAG_LENGTH),
    tag: bytes.subarray(bytes.length - TAG_LENGTH),
  };
}

/** The key version a blob was sealed with, without decrypting it. */
export function keyVersionOf(blob: Uint8Array): number {
  return decodeBlob(blob).keyVersion;
}
