import {
  closeSync,
  fdatasync,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { UsageEvent } from '../usage-sink.js';
import { toUsageRow } from './to-usage-row.js';

/**
 * One journal file. Events are appended to the open segment; once it is sealed (full, or every
 * event in it is stored) and every event in it is stored, the file is deleted.
 */
export interface JournalSegment {
  readonly path: string;
  /** Events written to it (or read back from it on replay). */
  appended: number;
  /** Of those, events now stored in the database. */
  stored: number;
  /** No more appends: the file goes once `stored === appended`. */
  sealed: boolean;
}

/** A segment left by an earlier process, with the events it holds (a file without any is deleted). */
export interface LeftoverSegment {
  segment: JournalSegment;
  /** Its events as usage rows in JSON (see `to-usage-row.ts`), one per event. */
  rows: string[];
  /** Lines that did not parse: a write torn by a crash (only ever the last line). */
  unreadable: number;
}

export interface UsageJournalOptions {
  /** Events per segment before a new file is started (default 10 000, a few MB). */
  segmentEvents?: number;
  /** Make `sync()` fdatasync the written segments (default false: the page cache is enough). */
  fsync?: boolean;
}

export interface UsageJournal {
  readonly dir: string;
  /**
   * Appends `events` lines (`length` bytes of `bytes` from `offset`, each line ending in a newline)
   * to the open segment with one synchronous `write(2)`: when it returns, the lines are in the
   * kernel's page cache and survive this process being killed. Opens a new segment first when the
   * open one is full; write at most `room()` events at a time to keep segments at their size.
   * Throws on an I/O error (disk full); the segment is then sealed so that a torn line never has
   * another appended to it.
   */
  append(bytes: Uint8Array, offset: number, length: number, events: number): JournalSegment;
  /** Events the next `append` may write into one segment. */
  room(): number;
  /**
   * Checks that the journal can be written again after a failure: appends an empty line (skipped
   * on replay) to the open segment, or a new one. Throws like `append`.
   */
  probe(): void;
  /** Counts one event of `segment` as stored; deletes the segment file when it is done. */
  stored(segment: JournalSegment): void;
  /** Flushes written segments to the disk (only with the `fsync` option; otherwise a no-op). */
  sync(): Promise<void>;
  /** Closes the open segment's file; files that still hold unstored events stay for the next start. */
  close(): void;
}

const SEGMENT_FILE = /^usage-\d{13}-\d{6}\.jsonl$/;

/**
 * Opens the append-only usage journal in `dir` (created if missing) and reads back the segments an
 * earlier process left: events that may not have reached the database. One process per directory.
 *
 * Layout: `usage-<epoch ms>-<seq>.jsonl`, one usage row (`UsageRow`, what `usage_events` stores)
 * as JSON per line. Journals of earlier versions hold `UsageEvent`s (camelCase): read all the same.
 */
export function openUsageJournal(
  dir: string,
  options: UsageJournalOptions = {},
): { journal: UsageJournal; leftovers: LeftoverSegment[] } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const leftovers = readdirSync(dir)
    .filter((name) => SEGMENT_FILE.test(name))
    .sort()
    .map((name) => readSegment(join(dir, name)));
  // Nothing to replay in these (a probe's blank line, a torn first write): gone now.
  for (const { segment } of leftovers) if (segment.appended === 0) unlinkIfPresent(segment.path);
  return { journal: createJournal(dir, options), leftovers };
}

function readSegment(path: string): LeftoverSegment {
  const rows: string[] = [];
  let unreadable = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed === null || typeof parsed !== 'object') throw new TypeError('not an object');
      // A row as this version writes it, or an event as earlier ones did.
      rows.push('request_id' in parsed ? line : JSON.stringify(toUsageRow(parsed as unknown as UsageEvent)));
    } catch {
      unreadable++;
    }
  }
  return { segment: { path, appended: rows.length, stored: 0, sealed: true }, rows, unreadable };
}

interface OpenSegment extends JournalSegment {
  fd: number;
}

function createJournal(dir: string, options: UsageJournalOptions): UsageJournal {
  const limit = options.segmentEvents ?? 10_000;
  const durable = options.fsync ?? false;
  let current: OpenSegment | undefined;
  let sequence = 0;
  /** With `fsync`: descriptors written since the last sync (sealed ones are closed after it). */
  const unsynced = new Set<OpenSegment>();
  /** Descriptors an fdatasync is running on: closed only once it returned. */
  const syncing = new Set<OpenSegment>();
  let directoryChanged = false;

  const open = (): OpenSegment => {
    sequence = (sequence + 1) % 1_000_000;
    const path = join(
      dir,
      `usage-${String(Date.now()).padStart(13, '0')}-${String(sequence).padStart(6, '0')}.jsonl`,
    );
    const fd = openSync(path, 'a', 0o600);
    directoryChanged = true;
    return { path, fd, appended: 0, stored: 0, sealed: false };
  };

  const release = (segment: OpenSegment) => {
    if (segment.fd === -1 || unsynced.has(segment) || syncing.has(segment)) return;
    closeSync(segment.fd);
    segment.fd = -1;
  };

  const seal = (segment: OpenSegment) => {
    segment.sealed = true;
    if (current === segment) current = undefined;
    release(segment);
    if (segment.stored === segment.appended) remove(segment);
  };

  const remove = (segment: OpenSegment) => {
    unsynced.delete(segment);
    release(segment);
    unlinkIfPresent(segment.path);
  };

  return {
    dir,
    append(bytes, offset, length, events) {
      if (current === undefined || current.appended >= limit) {
        if (current) seal(current);
        current = open();
      }
      const segment = current;
      try {
        writeAll(segment.fd, bytes, offset, length);
      } catch (error) {
        seal(segment);
        throw error;
      }
      segment.appended += events;
      if (durable) unsynced.add(segment);
      return segment;
    },
    room() {
      return current === undefined || current.appended >= limit ? limit : limit - current.appended;
    },
    probe() {
      current ??= open();
      const segment = current;
      try {
        writeAll(segment.fd, BLANK_LINE, 0, 1);
      } catch (error) {
        seal(segment);
        throw error;
      }
    },
    stored(segment) {
      segment.stored++;
      if (segment.stored !== segment.appended) return;
      // A fully stored open segment is sealed too: under light traffic files then come and go
      // with the flushes instead of one file growing for ever.
      if (segment === current) seal(current);
      else if (segment.sealed) {
        if ('fd' in segment) remove(segment as OpenSegment);
        else unlinkIfPresent(segment.path);
      }
    },
    async sync() {
      if (!durable || (unsynced.size === 0 && !directoryChanged)) return;
      const segments = [...unsynced];
      unsynced.clear();
      for (const s of segments) syncing.add(s);
      try {
        await Promise.all(segments.map((s) => syncFd(s.fd, fdatasync)));
      } finally {
        for (const s of segments) {
          syncing.delete(s);
          if (s.sealed) release(s);
        }
      }
      if (directoryChanged) {
        // A new file's name is only durable once its directory is synced.
        directoryChanged = false;
        const fd = openSync(dir, 'r');
        try {
          await syncFd(fd, fsync);
        } finally {
          closeSync(fd);
        }
      }
    },
    close() {
      for (const s of unsynced) if (s !== current && s.fd !== -1) closeSync(s.fd);
      unsynced.clear();
      syncing.clear();
      if (current) {
        const s = current;
        current = undefined;
        s.sealed = true;
        closeSync(s.fd);
        s.fd = -1;
        if (s.stored === s.appended) unlinkIfPresent(s.path);
      }
    },
  };
}

const BLANK_LINE = Buffer.from('\n');

/** `writeSync` may write fewer bytes than asked (rare on files); the rest follows at once. */
function writeAll(fd: number, bytes: Uint8Array, offset: number, length: number): void {
  const end = offset + length;
  while (offset < end) offset += writeSync(fd, bytes, offset, end - offset);
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function syncFd(fd: number, how: typeof fdatasync): Promise<void> {
  return new Promise((resolve, reject) => how(fd, (error) => (error ? reject(error) : resolve())));
}
