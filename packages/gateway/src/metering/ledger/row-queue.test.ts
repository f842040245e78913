import { describe, expect, it } from 'vitest';
import { RowQueue } from './row-queue.js';
import type { JournalSegment } from './usage-journal.js';

const segment = (path: string): JournalSegment => ({ path, appended: 0, stored: 0, sealed: false });
const row = (i: number, extra = '') => JSON.stringify({ request_id: `req_${i}`, model: `m${extra}`, n: i });

describe('RowQueue', () => {
  it('hands the rows not yet journaled over as journal lines, in order, until they are journaled', () => {
    const queue = new RowQueue();
    const a = segment('a');
    queue.push(row(0), a);
    queue.add(row(1));
    queue.add(row(2, 'ü'));
    queue.add(row(3));
    expect(queue.length).toBe(4);
    expect(queue.unjournaled).toBe(3);
    const lines = (count: number) => {
      const l = queue.unjournaledLines(count);
      return l.bytes.toString('utf8', l.offset, l.offset + l.length);
    };
    expect(lines(3)).toBe(`${row(1)}\n${row(2, 'ü')}\n${row(3)}\n`);
    // Rows not journaled never go to the database.
    expect(() => queue.batchJson(2)).toThrow(RangeError);
    expect(() => queue.shift(2)).toThrow(RangeError);
    expect(queue.batchJson(1)).toBe(`[${row(0)}]`);

    const b = segment('b');
    queue.journaled(2, b);
    expect(queue.unjournaled).toBe(1);
    expect(lines(1)).toBe(`${row(3)}\n`);
    expect(queue.batchJson(3)).toBe(`[${row(0)},${row(1)},${row(2, 'ü')}]`);
    queue.journaled(1, undefined);
    expect(queue.segments(4)).toEqual([a, b, b, undefined]);
    expect(JSON.parse(queue.batchJson(4)).map((r: { n: number }) => r.n)).toEqual([0, 1, 2, 3]);
    expect(() => queue.unjournaledLines(1)).toThrow(RangeError);
    expect(() => queue.journaled(1, b)).toThrow(RangeError);
  });

  it('keeps rows not yet journaled at the tail while stored rows are dropped before them', () => {
    const queue = new RowQueue();
    const big = 'x'.repeat(200);
    for (let i = 0; i < 400; i++) queue.add(row(i, big));
    queue.journaled(400, segment('a'));
    for (let i = 400; i < 410; i++) queue.add(row(i, big));
    // Dropping most rows moves the rest (these ten included) to the front of the buffer.
    queue.shift(399);
    const l = queue.unjournaledLines(10);
    expect(l.bytes.toString('utf8', l.offset, l.offset + l.length)).toBe(
      Array.from({ length: 10 }, (_, i) => `${row(400 + i, big)}\n`).join(''),
    );
    queue.journaled(10, segment('b'));
    expect(JSON.parse(queue.batchJson(11)).map((r: { n: number }) => r.n)).toEqual(
      Array.from({ length: 11 }, (_, i) => 399 + i),
    );
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

  it('refuses a journaled row behind rows not yet journaled', () => {
    const queue = new RowQueue();
    queue.add(row(1));
    expect(() => queue.push(row(2), undefined)).toThrow(/not yet journaled/);
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
