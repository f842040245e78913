import type { ServerResponse } from 'node:http';

/**
 * Writes a streamed body with backpressure: when the socket buffer is full (`write` returns
 * false) the caller must wait for the returned promise (`drain`), so a slow client slows the
 * upstream read instead of growing memory. Returns `undefined` when the caller may go on at once,
 * which spares an await (a microtask hop) per event on the hot path.
 *
 * Callers hand over all the events of one upstream chunk in one `text`, so each chunk leaves in
 * one socket write, at once: nothing is corked or held back.
 */
export function writeChunk(res: ServerResponse, text: string): Promise<void> | undefined {
  if (text === '' || res.destroyed || res.writableEnded) return undefined;
  if (res.write(text)) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
