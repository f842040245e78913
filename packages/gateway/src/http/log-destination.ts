import pino from 'pino';

/** What the batching front needs of the real destination (pino's SonicBoom has it all). */
export interface LogSink {
  write(chunk: string): boolean;
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
}

export interface BatchedDestinationOptions {
  /** Lines are handed on once this many characters are waiting. Default 16 KiB. */
  batchSize?: number;
  /** ... or once the oldest waiting line is this old (ms). Default 100. */
  maxDelayMs?: number;
}

/**
 * Log lines gathered into large chunks before they reach pino's SonicBoom destination. SonicBoom
 * appends each line to its pending string and measures the result's UTF-8 length, which copies
 * the whole pending string on every line; while an asynchronous write is in flight (on a busy
 * core the thread-pool write waits for the core) that string grows to 16 KiB, so a loaded
 * gateway copied kilobytes per log line. Joined here once per batch, the chunks SonicBoom gets are
 * already large: one append and one write each. Order is kept (every line goes through the
 * batch); `flush` and `flushSync` hand the batch on first, and the process's exit flushes it.
 */
export function createBatchedDestination(
  sink: LogSink,
  options: BatchedDestinationOptions = {},
): LogSink & { write(line: string): boolean } {
  const batchSize = options.batchSize ?? 16 * 1024;
  const maxDelayMs = options.maxDelayMs ?? 100;
  let lines: string[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;

  const handOn = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (lines.length === 0) return;
    const chunk = lines.length === 1 ? lines[0]! : lines.join('');
    lines = [];
    size = 0;
    sink.write(chunk);
  };

  const destination: LogSink = {
    write(line: string): boolean {
      lines.push(line);
      size += line.length;
      if (size >= batchSize) handOn();
      else if (timer === undefined) {
        timer = setTimeout(handOn, maxDelayMs);
        timer.unref();
      }
      return true;
    },
    flush(callback) {
      handOn();
      sink.flush(callback);
    },
    flushSync() {
      handOn();
      sink.flushSync();
    },
  };
  // The batch must not be lost when the process exits (one exit hook for every destination).
  if (live.size === 0) process.once('exit', flushLive);
  else if (live.size >= 64) for (const ref of live) if (ref.deref() === undefined) live.delete(ref);
  live.add(new WeakRef(destination));
  return destination;
}

const live = new Set<WeakRef<LogSink>>();

function flushLive(): void {
  for (const ref of live) {
    try {
      ref.deref()?.flushSync();
    } catch {
      // Exiting: a destination that cannot be written any more has nothing left to lose.
    }
  }
  live.clear();
}

/** The gateway's stdout: asynchronous SonicBoom writes behind the batching front. */
export function stdoutDestination(): LogSink {
  return createBatchedDestination(pino.destination({ dest: 1, sync: false, minLength: 0 }));
}
