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
 * Layout: byte 0 is spare; each row is its JSON followed by one separator byte. A row is added
 * with a newline separator, so the rows not yet journaled are one contiguous run of journal lines
 * at the tail, which the journal writes with one `write(2)`; `journaled` then turns their newlines
 * into commas, so a batch of rows is one contiguous range that becomes a JSON array once its two
 * ends are framed with `[` and `]` (the spare byte, or the previous row's separator, and the last
 * separator).
 *
 * @example
 * const queue = new RowQueue();
 * queue.add(JSON.stringify(row));
 * const lines = queue.unjournaledLines(queue.unjournaled); // write lines.offset, lines.length
 * queue.journaled(queue.unjournaled, segment);
 * queue.batchJson(queue.length) // '[{…}]'
 */
export class RowQueue {
  #bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  /** Byte offset where the next row goes. */
  #tail = 1;
  /** End offset (after the separator) of each queued row, oldest first, from index `#head`. */
  #ends: number[] = [];
  /** Where each queued row was journaled (undefined: nowhere, or not yet). */
  #segments: (JournalSegment | undefined)[] = [];
  #head = 0;
  /** The newest rows, not yet journaled (their separators are still newlines). */
  #unjournaled = 0;

  /** Rows queued. */
  get length(): number {
    return this.#ends.length - this.#head;
  }

  /** Of those, the newest ones not yet marked `journaled`. */
  get unjournaled(): number {
    return this.#unjournaled;
  }

  /** Queues `row` (one line of JSON, no newline), not yet journaled. */
  add(row: string): void {
    this.#append(row, undefined);
    this.#unjournaled++;
  }

  /** Queues a row already journaled in `segment` (rows replayed from the journal). */
  push(row: string, segment: JournalSegment | undefined): void {
    if (this.#unjournaled > 0) throw new Error('RowQueue.push behind rows not yet journaled');
    this.#append(row, segment);
    this.#bytes[this.#tail - 1] = COMMA;
  }

  /** The oldest `count` rows not yet journaled, as journal lines (each its JSON and a newline). */
  unjournaledLines(count: number): { bytes: Buffer; offset: number; length: number } {
    this.#checkUnjournaled(count);
    const first = this.#ends.length - this.#unjournaled;
    const offset = this.#startOf(first);
    return { bytes: this.#bytes, offset, length: this.#ends[first + count - 1]! - offset };
  }

  /** Marks the oldest `count` rows not yet journaled as journaled in `segment` (undefined: it failed). */
  journaled(count: number, segment: JournalSegment | undefined): void {
    this.#checkUnjournaled(count);
    const first = this.#ends.length - this.#unjournaled;
    for (let i = first; i < first + count; i++) {
      this.#bytes[this.#ends[i]! - 1] = COMMA;
      this.#segments[i] = segment;
    }
    this.#unjournaled -= count;
  }

  /** The oldest `count` rows as one JSON array; they must be journaled. */
  batchJson(count: number): string {
    this.#checkJournaled(count);
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

  /** Drops the oldest `count` rows (stored); they must be journaled. */
  shift(count: number): void {
    this.#checkJournaled(count);
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

  #append(row: string, segment: JournalSegment | undefined): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; rows are ASCII in practice.
    this.#reserve(row.length * 3 + 1);
    const end = this.#tail + this.#bytes.write(row, this.#tail, 'utf8');
    this.#bytes[end] = NEWLINE;
    this.#tail = end + 1;
    this.#ends.push(this.#tail);
    this.#segments.push(segment);
  }

  #checkUnjournaled(count: number): void {
    if (count < 1 || count > this.#unjournaled)
      throw new RangeError(`RowQueue: ${count} rows not yet journaled asked, ${this.#unjournaled} queued`);
  }

  #checkJournaled(count: number): void {
    if (count > this.length - this.#unjournaled)
      throw new RangeError(
        `RowQueue: ${count} journaled rows asked, ${this.length - this.#unjournaled} queued`,
      );
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
