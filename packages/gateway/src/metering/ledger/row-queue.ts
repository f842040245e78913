import type { JournalSegment } from './usage-journal.js';

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const INITIAL_BYTES = 64 * 1024;

/**
 * The ledger's queue of usage rows not yet in the database, oldest first, kept as UTF-8 bytes in
 * one buffer outside the V8 heap.
 *
 * Why bytes: rows wait up to a flush interval plus a database round trip, long enough for many to
 * outlive two young-generation collections. As strings (JSON.stringify returns a rope of about ten
 * string objects for a row) each promoted row was copied into the old generation and collected there
 * later: about a quarter of the gateway's promoted bytes under load, and a backlog during a
 * database outage (up to `maxBacklog` rows) was a heap of small objects for every full GC to
 * walk. Here a row is written once; the journal line is those same bytes, and so is the batch.
 *
 * Layout: byte 0 is spare; each row is its JSON followed by one separator byte. `stage` writes a
 * row with a newline separator (the journal line), `commit` turns the newline into a comma, so a
 * batch of rows is one contiguous range that becomes a JSON array once its two ends are framed
 * with `[` and `]` (the spare byte, or the previous row's separator, and the last separator).
 *
 * @example
 * const queue = new RowQueue();
 * const line = queue.stage(JSON.stringify(row)); // journal line.offset, line.length
 * queue.commit(segment);
 * queue.batchJson(queue.length) // '[{…}]'
 */
export class RowQueue {
  #bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  /** Byte offset where the next row goes. */
  #tail = 1;
  /** End offset (after the separator) of each queued row, oldest first, from index `#head`. */
  #ends: number[] = [];
  /** Where each queued row was journaled (undefined: nowhere, the journal had failed). */
  #segments: (JournalSegment | undefined)[] = [];
  #head = 0;
  /** End of the staged (written, not yet committed) row, or -1. */
  #staged = -1;

  /** Rows queued. */
  get length(): number {
    return this.#ends.length - this.#head;
  }

  /**
   * Writes `row` (one line of JSON, no newline) at the tail followed by a newline, and returns the
   * line's place in `bytes`. The row is not queued until `commit`; another `stage` overwrites it.
   */
  stage(row: string): { bytes: Buffer; offset: number; length: number } {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; rows are ASCII in practice.
    this.#reserve(row.length * 3 + 1);
    const offset = this.#tail;
    const end = offset + this.#bytes.write(row, offset, 'utf8');
    this.#bytes[end] = NEWLINE;
    this.#staged = end + 1;
    return { bytes: this.#bytes, offset, length: this.#staged - offset };
  }

  /** Queues the staged row, journaled in `segment`. */
  commit(segment: JournalSegment | undefined): void {
    if (this.#staged === -1) throw new Error('RowQueue.commit without a staged row');
    this.#bytes[this.#staged - 1] = COMMA;
    this.#tail = this.#staged;
    this.#staged = -1;
    this.#ends.push(this.#tail);
    this.#segments.push(segment);
  }

  /** Stages and commits a row in one go (rows replayed from the journal). */
  push(row: string, segment: JournalSegment | undefined): void {
    this.stage(row);
    this.commit(segment);
  }

  /** The oldest `count` rows as one JSON array. */
  batchJson(count: number): string {
    const first = this.#startOf(this.#head);
    const end = this.#ends[this.#head + count - 1]!;
    const bytes = this.#bytes;
    const before = bytes[first - 1]!;
    bytes[first - 1] = OPEN;
    bytes[end - 1] = CLOSE;
    const json = bytes.toString('utf8', first - 1, end);
    bytes[first - 1] = before;
    bytes[end - 1] = COMMA;
    return json;
  }

  /** The oldest `count` rows, one JSON string each (only when a batch must be split). */
  rows(count: number): string[] {
    const out: string[] = [];
    for (let i = this.#head; i < this.#head + count; i++) {
      out.push(this.#bytes.toString('utf8', this.#startOf(i), this.#ends[i]! - 1));
    }
    return out;
  }

  /** Where the oldest `count` rows were journaled, oldest first. */
  segments(count: number): (JournalSegment | undefined)[] {
    return this.#segments.slice(this.#head, this.#head + count);
  }

  /** Drops the oldest `count` rows (stored). */
  shift(count: number): void {
    this.#head += count;
    if (this.#head === this.#ends.length) {
      this.#ends = [];
      this.#segments = [];
      this.#head = 0;
      this.#tail = 1;
      // A backlog's buffer (a database outage) is not kept once it has drained.
      if (this.#bytes.length > 16 * INITIAL_BYTES) this.#bytes = Buffer.allocUnsafe(INITIAL_BYTES);
      return;
    }
    // Under steady load the queue never drains between flushes (rows arrive while a batch is
    // written), so the stored rows' bytes are dropped as soon as they outweigh the rows still
    // waiting: the buffer stays a few batches big, and each byte is moved at most once on average.
    const from = this.#startOf(this.#head);
    if (from - 1 >= this.#tail - from) {
      this.#bytes.copy(this.#bytes, 1, from, this.#tail);
      const shiftBy = from - 1;
      this.#ends = this.#ends.slice(this.#head).map((end) => end - shiftBy);
      this.#segments = this.#segments.slice(this.#head);
      this.#head = 0;
      this.#tail -= shiftBy;
    }
  }

  #startOf(index: number): number {
    return index === 0 ? 1 : this.#ends[index - 1]!;
  }

  #reserve(bytes: number): void {
    const needed = this.#tail + bytes + 1;
    if (needed <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#bytes.length * 2));
    this.#bytes.copy(grown, 0, 0, this.#tail);
    this.#bytes = grown;
  }
}
