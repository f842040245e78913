import type { ServerResponse } from 'node:http';

/**
 * Writes a streamed body with backpressure: when the socket buffer is full (`write` returns
 * false) the next write waits for `drain`, so a slow client slows the upstream read instead of
 * growing memory. Resolves at once if the client went away.
 */
export async function writeChunk(res: ServerResponse, text: string): Promise<void> {
  if (text === '' || res.destroyed || res.writableEnded) return;
  if (res.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
