import type { AbortSource, StreamEvent } from '@keyhold/core';
import type { Exchange } from './exchange.js';
import { type Problem, problemFromError } from './problem.js';
import { writeChunk } from './sse-writer.js';

export interface StreamEncoder {
  encode(event: StreamEvent): string;
  end(): string;
  error(problem: Problem): string;
}

/**
 * Sends a provider stream as server-sent events. The status line waits for the first upstream
 * event, so a failure before it (a rejected key, an unknown model upstream) is still a proper
 * HTTP error; from then on each event is written as it arrives (no buffering), with backpressure.
 * A failure after the first byte becomes the surface's in-stream error event. If the client goes
 * away, `controller` aborts the upstream request. Terminal frames (those of `finish`, `end`,
 * `error`) are written only once `events` handed over `finish`, ended or failed, which the
 * metered stream does after the call's usage event was recorded: a client never sees a complete
 * response whose usage could still be lost.
 */
export async function streamResponse(input: {
  exchange: Exchange;
  /** The events in batches, as they arrived together upstream; each batch leaves in one write. */
  events: AsyncIterable<readonly StreamEvent[]>;
  encoder: StreamEncoder;
  controller: AbortSource;
}): Promise<void> {
  const { exchange, encoder, controller } = input;
  const iterator = input.events[Symbol.asyncIterator]();
  let next: IteratorResult<readonly StreamEvent[]>;
  try {
    next = await iterator.next();
  } catch (error) {
    await iterator.return?.(undefined);
    exchange.refuse(problemFromError(error));
    return;
  }

  const res = exchange.res;
  const headers = exchange.replyHeaders;
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-accel-buffering'] = 'no';
  headers['x-keyhold-overhead-ms'] = exchange.overhead();
  res.writeHead(200, headers);
  let outcome = 'completed';
  try {
    while (!next.done) {
      let text = '';
      for (const event of next.value) text += encoder.encode(event);
      const wait = writeChunk(res, text);
      if (wait) await wait;
      if (res.destroyed) break;
      next = await iterator.next();
    }
    if (!res.destroyed) await writeChunk(res, encoder.end());
    else outcome = 'client_closed';
  } catch (error) {
    const p = problemFromError(error);
    outcome = controller.signal.aborted ? 'client_closed' : p.code;
    if (!res.destroyed) await writeChunk(res, encoder.error(p));
  } finally {
    if (res.destroyed && !controller.signal.aborted) controller.abort();
    await iterator.return?.(undefined);
    if (!res.writableEnded) res.end();
  }
  exchange.log(200, 'stream finished', outcome);
}
