import { describe, expect, it } from 'vitest';
import { ProviderUnavailableError } from '../../errors.js';
import { readEventStream } from './read-event-stream.js';
import { encodeEvent, readStreamFixture } from './testing/bedrock-wire.js';

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function decodeAll(body: AsyncIterable<Uint8Array>) {
  const out: { eventType: string | undefined; payload: unknown }[] = [];
  for await (const message of readEventStream('bedrock', body)) {
    const eventType = message.headers[':event-type'];
    out.push({
      eventType: eventType?.type === 'string' ? eventType.value : undefined,
      payload: JSON.parse(new TextDecoder().decode(message.body)),
    });
  }
  return out;
}

describe('readEventStream', () => {
  const events = readStreamFixture('stream-tool-calls.events.jsonl');
  const bytes = Buffer.concat(events.map((e) => encodeEvent(e, { padding: false })));

  it.each([1, 3, 16, 250, bytes.length])(
    'decodes every frame whatever the chunk size (%i bytes)',
    async (size) => {
      expect(await decodeAll(chunksOf(bytes, size))).toEqual(events);
    },
  );

  it('throws on trailing bytes of an unfinished frame', async () => {
    const error = await decodeAll(chunksOf(bytes.subarray(0, bytes.length - 1), 64)).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
  });

  it('throws on an impossible length prefix instead of buffering forever', async () => {
    const garbage = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const error = await decodeAll(chunksOf(garbage, 8)).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe('bedrock sent a malformed event-stream frame');
  });
});
