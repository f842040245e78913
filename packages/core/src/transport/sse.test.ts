import { describe, expect, it } from 'vitest';
import { parseSse, parseSseBatches } from './sse.js';

async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? Buffer.from(part) : part;
}

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('parseSseBatches', () => {
  it('yields one batch per chunk that completed events, in order', async () => {
    const batches = await all(
      parseSseBatches(chunks('data: a\n\ndata: b\n\nda', 'ta: c\n\n', 'event: x\ndata: d\n\n')),
    );
    expect(batches.map((b) => b.map((e) => e.data))).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(batches[2]![0]!.event).toBe('x');
  });

  it('keeps a multi-byte character that is split across chunks', async () => {
    const bytes = Buffer.from('data: caf\u00e9 \u{1f98a}\n\n');
    // Cut inside the é (2 bytes) and inside the fox emoji (4 bytes).
    const cutA = bytes.indexOf(0xc3) + 1;
    const cutB = bytes.indexOf(0xf0) + 2;
    const events = await all(
      parseSse(chunks(bytes.subarray(0, cutA), bytes.subarray(cutA, cutB), bytes.subarray(cutB))),
    );
    expect(events.map((e) => e.data)).toEqual(['caf\u00e9 \u{1f98a}']);
  });

  it('ignores a byte order mark at the start of the stream, as the SSE spec says', async () => {
    const events = await all(parseSse(chunks(Buffer.from('\ufeffdata: first\n\ndata: \ufeffkept\n\n'))));
    expect(events.map((e) => e.data)).toEqual(['first', '\ufeffkept']);
  });

  it('drops an event the body cut in the middle', async () => {
    const events = await all(parseSse(chunks('data: whole\n\n', 'data: {"half":')));
    expect(events.map((e) => e.data)).toEqual(['whole']);
  });
});
