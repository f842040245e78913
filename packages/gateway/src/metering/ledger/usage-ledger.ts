import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Schema } from '../../store/schema.js';
import type { UsageSink } from '../usage-sink.js';
import { insertUsageJson } from './insert-usage-batch.js';
import { RowQueue } from './row-queue.js';
import { toUsageRowJson, type UsageRow } from './to-usage-row.js';
import {
  type JournalSegment,
  type LeftoverSegment,
  openUsageJournal,
  type UsageJournal,
} from './usage-journal.js';

export interface UsageLedgerOptions {
  db: Kysely<Schema>;
  /**
   * The journal directory: local, persistent, one per gateway instance (a second process on the
   * same directory would delete the other's segments). `keyhold serve` locks it.
   */
  dir: string;
  /** Longest wait of an event before its batch is written (ms, default 50). */
  flushIntervalMs?: number;
  /** Events per statement; a full batch is written at once (default 500). */
  batchSize?: number;
  /**
   * Refuse new work (`accepting()` false) when events have been waiting for the database this
   * long without a successful write (ms, default 5 000): the database is down or hanging.
   */
  maxLagMs?: number;
  /** Refuse new work when this many events wait for the database (default 50 000). */
  maxBacklog?: number;
  /**
   * fdatasync the journal before each batch is written (`KEYHOLD_LEDGER_FSYNC=1`): a machine
   * crash then loses at most the events of the last flush interval. Default false.
   */
  fsync?: boolean;
  /** Events per journal file (default 10 000). */
  segmentEvents?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** Counters since the ledger opened. */
export interface UsageLedgerStats {
  /** Events given to `record`. */
  recorded: number;
  /** Events read back from an earlier process's journal on open. */
  replayed: number;
  /** Events inserted (new rows). */
  stored: number;
  /** Events the database already had (replays). */
  duplicates: number;
  /** Events the database refused as invalid; kept in `rejected.jsonl` in the journal directory. */
  rejected: number;
  /** Successful batch statements. */
  flushes: number;
  failedFlushes: number;
  /** Events waiting for the database. */
  pending: number;
}

/** The durable usage ledger: a `UsageSink` that journals every event, then batches it into PostgreSQL. */
export interface UsageLedger extends UsageSink {
  accepting(): boolean;
  /** Resolves once every event recorded so far is in the journal (undefined: already). */
  durable(): Promise<void> | undefined;
  /** Writes every event recorded so far; rejects when the database refuses the write. */
  flush(): Promise<void>;
  stats(): UsageLedgerStats;
  /** Writes what is pending (if the database answers) and closes the journal. */
  close(): Promise<void>;
}

const RETRY_MAX_MS = 1_000;
const PROBE_MS = 200;
const LOG_EVERY_MS = 10_000;

/**
 * Opens the durable usage ledger. Its promise: once `durable()` has resolved (or returned
 * undefined) after `record(event)`, the event survives the gateway being killed (`kill -9`),
 * because it is in the journal, a local append-only file written with a synchronous `write(2)`;
 * the kernel keeps it even if this process dies (a power loss is another matter — see `fsync`).
 * The events recorded in one event-loop turn share one journal write at the end of it (group
 * commit): one `write(2)` per turn instead of one per event. A background flusher writes the
 * journal's events to `usage_events` and the `usage_daily` rollup in batches (every
 * `flushIntervalMs`, or at once when `batchSize` are waiting), one idempotent statement each;
 * a journal file is deleted once all of its events are in the database. Opening replays what an
 * earlier process left in the journal (again idempotently) and resolves only when it is stored,
 * so a gateway that starts serving has no older events outstanding.
 *
 * When the journal cannot be written, or the database has not accepted a write for `maxLagMs`,
 * or `maxBacklog` events wait, `accepting()` turns false: the gateway then answers 503 instead
 * of serving unmetered traffic. It turns true again by itself once a write succeeds.
 *
 * @example
 * const ledger = await openUsageLedger({ db, dir: '/var/lib/keyhold/ledger', logger });
 * const gateway = createGateway({ directory, usage: ledger });
 */
export async function openUsageLedger(options: UsageLedgerOptions): Promise<UsageLedger> {
  const { journal, leftovers } = openUsageJournal(options.dir, {
    ...(options.segmentEvents !== undefined ? { segmentEvents: options.segmentEvents } : {}),
    ...(options.fsync !== undefined ? { fsync: options.fsync } : {}),
  });
  const ledger = createLedger(options, journal, leftovers);
  try {
    await ledger.flush();
  } catch (error) {
    await ledger.close();
    throw new Error(
      `Cannot replay the usage journal in ${options.dir} into the database: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  const { replayed } = ledger.stats();
  if (replayed > 0) {
    options.logger?.info({ replayed, dir: options.dir }, 'usage journal replayed into the ledger');
  }
  return ledger;
}

function createLedger(
  options: UsageLedgerOptions,
  journal: UsageJournal,
  leftovers: readonly LeftoverSegment[],
): UsageLedger {
  const { db, logger } = options;
  const interval = options.flushIntervalMs ?? 50;
  const batchSize = options.batchSize ?? 500;
  const maxLagMs = options.maxLagMs ?? 5_000;
  const maxBacklog = options.maxBacklog ?? 50_000;

  // The events not yet in the database, each as the JSON usage row it was journaled as (a batch
  // is those bytes framed as an array: nothing is serialised twice, no event object kept).
  const queue = new RowQueue();
  /** When the database last accepted a batch, or the queue last went from empty to not. */
  let lastProgress = performance.now();
  let journalBroken = false;
  let probe: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let lastFailureLog = 0;
  let running: Promise<unknown> | undefined;
  let closed = false;
  /** The pending journal write (see `writeJournal`) and who waits for it (`durable()`). */
  let journalTick: NodeJS.Immediate | undefined;
  let journaled: { promise: Promise<void>; resolve: () => void } | undefined;
  const stats: UsageLedgerStats = {
    recorded: 0,
    replayed: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    flushes: 0,
    failedFlushes: 0,
    pending: 0,
  };

  /** Called before a row joins the queue: the lag (`maxLagMs`) counts from when it stopped being empty. */
  const startLagClock = () => {
    if (queue.length === 0) lastProgress = performance.now();
  };

  for (const leftover of leftovers) {
    if (leftover.unreadable > 0) {
      logger?.warn(
        { file: leftover.segment.path, lines: leftover.unreadable },
        'usage journal: unreadable lines skipped (a write torn by a crash)',
      );
    }
    for (const row of leftover.rows) {
      startLagClock();
      queue.push(row, leftover.segment);
    }
    stats.replayed += leftover.rows.length;
  }

  const arm = (delayMs: number) => {
    if (timer !== undefined || closed) return;
    timer = setTimeout(pump, delayMs);
    timer.unref();
  };

  const disarm = () => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
  };

  /** Writes the oldest batch; resolves to the error when the database refused it. */
  async function writeBatch(): Promise<unknown> {
    // Only journaled rows go to the database: a row stored before its journal line was written
    // would leave that line in a file never deleted (see `RowQueue`).
    writeJournal();
    const count = Math.min(batchSize, queue.length);
    try {
      await journal.sync();
      const inserted = await insertUsageJson(db, queue.batchJson(count));
      stats.stored += inserted;
      stats.duplicates += count - inserted;
    } catch (error) {
      if (!isDataError(error)) return failed(error);
      // One event the database refuses must not hold back the others: store them one by one
      // and set the refused ones aside.
      try {
        await writeEachOf(queue.rows(count));
      } catch (inner) {
        return failed(inner);
      }
    }
    settle(count);
    stats.flushes++;
    lastProgress = performance.now();
    if (failures > 0) {
      logger?.info({ failures }, 'usage ledger: the database accepts writes again');
      failures = 0;
    }
    return undefined;
  }

  async function writeEachOf(batch: readonly string[]): Promise<void> {
    for (const event of batch) {
      try {
        const inserted = await insertUsageJson(db, `[${event}]`);
        stats.stored += inserted;
        stats.duplicates += 1 - inserted;
      } catch (error) {
        if (!isDataError(error)) throw error;
        stats.rejected++;
        appendFileSync(join(journal.dir, 'rejected.jsonl'), `${event}\n`, { mode: 0o600 });
        const { request_id: requestId, attempt } = JSON.parse(event) as UsageRow;
        logger?.error(
          { requestId, attempt, err: { message: messageOf(error) } },
          'usage ledger: event refused by the database, kept in rejected.jsonl',
        );
      }
    }
  }

  function failed(error: unknown): unknown {
    failures++;
    stats.failedFlushes++;
    const now = performance.now();
    if (failures === 1 || now - lastFailureLog > LOG_EVERY_MS) {
      lastFailureLog = now;
      logger?.warn(
        { pending: queue.length, failures, err: { message: messageOf(error) } },
        'usage ledger: writing to the database failed; events stay in the journal',
      );
    }
    return error;
  }

  /** Marks the oldest `count` queued events as stored, deleting finished journal files. */
  function settle(count: number) {
    try {
      for (const segment of queue.segments(count)) if (segment) journal.stored(segment);
    } catch (error) {
      // A file that cannot be deleted is replayed (idempotently) at the next start: harmless.
      logger?.warn({ err: { message: messageOf(error) } }, 'usage journal: a finished file was not deleted');
    }
    queue.shift(count);
  }

  /** One batch at a time: resolves to the batch's error, if any. */
  function step(): Promise<unknown> {
    disarm();
    const p = writeBatch();
    running = p;
    return p.finally(() => {
      if (running === p) running = undefined;
    });
  }

  /** The background flusher: full batches at once, the rest after the interval; backs off on failure. */
  function pump(): void {
    disarm();
    if (running || queue.length === 0) return;
    step().then((error) => {
      if (error !== undefined) arm(Math.min(interval * 2 ** failures, RETRY_MAX_MS));
      else if (queue.length >= batchSize) pump();
      else if (queue.length > 0) arm(interval);
    });
  }

  /**
   * Writes the rows recorded since the last call to the journal, one `write(2)` per segment they
   * fill (normally one), and resolves `durable()`. Runs once per event-loop turn in which events
   * were recorded (`setImmediate`), and before anything that reads the queue: group commit, so
   * that a gateway under load makes one journal write per turn rather than one per event.
   */
  function writeJournal(): void {
    if (journalTick !== undefined) {
      clearImmediate(journalTick);
      journalTick = undefined;
    }
    while (queue.unjournaled > 0) {
      const count = Math.min(queue.unjournaled, journal.room());
      const lines = queue.unjournaledLines(count);
      let segment: JournalSegment | undefined;
      try {
        segment = journal.append(lines.bytes, lines.offset, lines.length, count);
        if (journalBroken) journalBroken = false;
      } catch (error) {
        journalFailed(error);
      }
      queue.journaled(count, segment);
    }
    const waiting = journaled;
    journaled = undefined;
    waiting?.resolve();
  }

  function journalFailed(error: unknown): void {
    if (!journalBroken) {
      logger?.error(
        { dir: journal.dir, err: { message: messageOf(error) } },
        'usage journal cannot be written: refusing new requests until it can',
      );
    }
    journalBroken = true;
    if (probe !== undefined) return;
    probe = setInterval(() => {
      try {
        journal.probe();
      } catch {
        return;
      }
      journalBroken = false;
      clearInterval(probe);
      probe = undefined;
      logger?.info({ dir: journal.dir }, 'usage journal writable again');
    }, PROBE_MS);
    probe.unref();
  }

  return {
    record(event) {
      stats.recorded++;
      // The row as the database will store it, serialised once: journaled, then queued as is.
      const row = toUsageRowJson(event);
      if (closed) {
        // Not queued any more: journaled at once, for the next start to replay.
        const line = Buffer.from(`${row}\n`);
        try {
          journal.append(line, 0, line.length, 1);
        } catch (error) {
          journalFailed(error);
        }
        return;
      }
      startLagClock();
      queue.add(row);
      journalTick ??= setImmediate(writeJournal);
      if (running) return;
      if (queue.length >= batchSize && failures === 0) pump();
      else arm(interval);
    },

    durable() {
      if (queue.unjournaled === 0) return undefined;
      if (journaled === undefined) {
        let resolve!: () => void;
        journaled = { promise: new Promise<void>((r) => (resolve = r)), resolve };
      }
      return journaled.promise;
    },

    accepting() {
      if (journalBroken) return false;
      const n = queue.length;
      return n === 0 || (n <= maxBacklog && performance.now() - lastProgress <= maxLagMs);
    },

    async flush() {
      for (;;) {
        while (running) await running;
        if (queue.length === 0) return;
        const error = await step();
        if (error !== undefined) {
          arm(Math.min(interval * 2 ** failures, RETRY_MAX_MS));
          throw error;
        }
      }
    },

    stats() {
      return { ...stats, pending: queue.length };
    },

    async close() {
      if (closed) return;
      closed = true;
      disarm();
      writeJournal();
      if (probe !== undefined) clearInterval(probe);
      try {
        await this.flush();
      } catch {
        logger?.warn(
          { pending: queue.length, dir: journal.dir },
          'usage ledger closed with events not yet in the database; they stay in the journal for the next start',
        );
      }
      disarm();
      try {
        await journal.sync();
      } finally {
        journal.close();
      }
    },
  };
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the rows, not the database. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
