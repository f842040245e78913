import { describe, expect, it } from 'vitest';
import { createBatchedDestination, type LogSink } from './log-destination.js';

function recordingSink() {
  const chunks: string[] = [];
  let flushes = 0;
  let syncFlushes = 0;
  const sink: LogSink = {
    write(chunk) {
      chunks.push(chunk);
      return true;
    },
    flush(callback) {
      flushes++;
      callback?.();
    },
    flushSync() {
      syncFlushes++;
    },
  };
  return { sink, chunks, counts: () => ({ flushes, syncFlushes }) };
}

describe('batched log destination', () => {
  it('hands lines on in order, in chunks of about the batch size', () => {
    const { sink, chunks } = recordingSink();
    const destination = createBatchedDestination(sink, { batchSize: 100, maxDelayMs: 10_000 });
    const lines = Array.from({ length: 20 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(20)}"}\n`);
    for (const line of lines) destination.write(line);
    destination.flushSync();
    expect(chunks.join('')).toBe(lines.join(''));
    // Each chunk but the last reached the batch size; none is a single small line.
    expect(chunks.length).toBeLessThan(lines.length / 2);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(100);
  });

  it('hands a lone line on after the delay, without a flush', async () => {
    const { sink, chunks } = recordingSink();
    const destination = createBatchedDestination(sink, { batchSize: 1_000_000, maxDelayMs: 20 });
    destination.write('{"lonely":true}\n');
    expect(chunks).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(chunks).toEqual(['{"lonely":true}\n']);
  });

  it('flush and flushSync hand the batch on before flushing the sink', () => {
    const { sink, chunks, counts } = recordingSink();
    const destination = createBatchedDestination(sink, { batchSize: 1_000_000, maxDelayMs: 10_000 });
    destination.write('a\n');
    destination.flush();
    expect(chunks).toEqual(['a\n']);
    destination.write('b\n');
    destination.flushSync();
    expect(chunks).toEqual(['a\n', 'b\n']);
    expect(counts()).toEqual({ flushes: 1, syncFlushes: 1 });
  });
});
