import type { ServerResponse } from 'node:http';

/**
 * Writes a streamed body with backpressure: when the socket buffer is full (`write` returns
 * false) the caller must wait for the returned promise (`drain`), so a slow client slows the
 * upstream read instead of growing memory. Returns `undefined` when the caller may go on at once,
 * which spares an await (a microtask hop) per event on the hot path.
 *
 * Writes are corked until the next turn of the event loop: the events parsed from one upstream
 * chunk arrive within one turn, and leave in one socket write instead of one syscall each. The
 * first event is never held longer than that turn.
 */
export function writeChunk(res: ServerResponse, text: string): Promise<void> | undefined {
  if (text === '' || res.destroyed || res.writableEnded) return undefined;
  if (res.writableCorked === 0) {
    res.cork();
    setImmediate(uncork, res);
  }
  if (res.write(text)) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    // A full buffer must be flushed now, not at the end of the turn.
    while (res.writableCorked > 0) res.uncork();
  });
}

function uncork(res: ServerResponse): void {
  while (res.writableCorked > 0) res.uncork();
}
