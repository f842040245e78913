import { describe, expect, it } from 'vitest';
import { RowQueue } from './row-queue.js';
import type { JournalSegment } from './usage-journal.js';

const segment = (path: string): JournalSegment => ({ path, appended: 0, stored: 0, sealed: false });
const row = (i: number, extra = '') => JSON.stringify({ request_id: `req_${i}`, model: `m${extra}`, n: i });

describe('RowQueue', () => {
  it('stages a row as its journal line: the JSON and a newline', () => {
    const queue = new RowQueue();
    const line = queue.stage(row(1));
    expect(line.bytes.toString('utf8', line.offset, line.offset + line.length)).toBe(`${row(1)}\n`);
    expect(queue.length).toBe(0);
    queue.commit(undefined);
    expect(queue.length).toBe(1);
  });

  it('frames the oldest rows as one JSON array, and leaves the queue as it was', () => {
    const queue = new RowQueue();
    const a = segment('a');
    for (let i = 0; i < 5; i++) queue.push(row(i), a);
    expect(JSON.parse(queue.batchJson(3))).toEqual([0, 1, 2].map((i) => JSON.parse(row(i))));
    expect(queue.batchJson(5)).toBe(`[${[0, 1, 2, 3, 4].map((i) => row(i)).join(',')}]`);
    queue.shift(2);
    // The array's opening bracket borrows the stored row's separator; it is put back.
    expect(queue.batchJson(1)).toBe(`[${row(2)}]`);
    expect(queue.batchJson(3)).toBe(`[${row(2)},${row(3)},${row(4)}]`);
    expect(queue.rows(3)).toEqual([row(2), row(3), row(4)]);
    expect(queue.segments(3)).toEqual([a, a, a]);
  });

  it('keeps rows with multi-byte characters intact', () => {
    const queue = new RowQueue();
    queue.push(row(1, 'ü漢😀'), undefined);
    queue.push(row(2), undefined);
    expect(JSON.parse(queue.batchJson(2))[0].model).toBe('mü漢😀');
    expect(queue.rows(2)).toEqual([row(1, 'ü漢😀'), row(2)]);
  });

  it('drops a staged row that is never committed (the ledger was closed)', () => {
    const queue = new RowQueue();
    queue.push(row(1), undefined);
    queue.stage(row(99));
    queue.push(row(2), undefined);
    expect(queue.rows(queue.length)).toEqual([row(1), row(2)]);
    expect(() => new RowQueue().commit(undefined)).toThrow(/without a staged row/);
  });

  it('keeps every row in order while batches are stored as new rows arrive (steady load)', () => {
    const queue = new RowQueue();
    let next = 0;
    let stored = 0;
    for (let flush = 0; flush < 400; flush++) {
      for (let i = 0; i < 150; i++) queue.push(row(next++, 'y'.repeat(400)), undefined);
      const count = Math.min(500, queue.length - 20);
      const batch = JSON.parse(queue.batchJson(count)).map((r: { n: number }) => r.n);
      expect(batch).toEqual(Array.from({ length: count }, (_, i) => stored + i));
      queue.shift(count);
      stored += count;
    }
    expect(queue.length).toBe(next - stored);
    expect(queue.rows(1)).toEqual([row(stored, 'y'.repeat(400))]);
  });

  it('grows past its first buffer and compacts once most rows are stored', () => {
    const queue = new RowQueue();
    const big = 'x'.repeat(300);
    const segs = [segment('s0'), segment('s1')];
    const n = 12_000;
    for (let i = 0; i < n; i++) queue.push(row(i, big), segs[i % 2]);
    expect(queue.length).toBe(n);
    for (let stored = 0; stored < 9_000; stored += 500) queue.shift(500);
    expect(queue.length).toBe(3_000);
    expect(queue.rows(2)).toEqual([row(9_000, big), row(9_001, big)]);
    expect(queue.segments(2)).toEqual([segs[0], segs[1]]);
    expect(JSON.parse(queue.batchJson(3_000)).map((r: { n: number }) => r.n)).toEqual(
      Array.from({ length: 3_000 }, (_, i) => 9_000 + i),
    );
    queue.push(row(n, big), segs[0]);
    expect(queue.rows(queue.length).at(-1)).toBe(row(n, big));
    queue.shift(queue.length);
    expect(queue.length).toBe(0);
    queue.push(row(7), undefined);
    expect(queue.batchJson(1)).toBe(`[${row(7)}]`);
  });
});
