import type { AbortSource, StreamEvent } from '@keyhold/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AccessLog, pathOf } from './access-log.js';
import { overheadOf } from './gateway-request.js';
import { type Problem, problemFromError } from './problem.js';
import { clientRequestIdOf } from './request-id.js';
import { writeChunk } from './sse-writer.js';
import { type Surface, sendProblem } from './surface.js';

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
  request: FastifyRequest;
  reply: FastifyReply;
  surface: Surface;
  /** The events in batches, as they arrived together upstream; each batch leaves in one write. */
  events: AsyncIterable<readonly StreamEvent[]>;
  encoder: StreamEncoder;
  controller: AbortSource;
  access: AccessLog;
}): Promise<FastifyReply> {
  const { request, reply, surface, encoder, controller } = input;
  const iterator = input.events[Symbol.asyncIterator]();
  let next: IteratorResult<readonly StreamEvent[]>;
  try {
    next = await iterator.next();
  } catch (error) {
    await iterator.return?.(undefined);
    return sendProblem(reply, surface, problemFromError(error));
  }

  reply.hijack();
  // This response logs its own access line, with how the stream ended (see the onResponse hook).
  request.streamed = true;
  const res = reply.raw;
  // `getHeaders()` returns a fresh object: set on it, not `{ ...reply.getHeaders(), … }`
  // (test/hot-path-literals.test.ts).
  const headers = reply.getHeaders() as Record<string, string | number | string[]>;
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-accel-buffering'] = 'no';
  headers['x-keyhold-overhead-ms'] = overheadOf(request);
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
  input.access({
    reqId: request.id,
    method: request.method,
    path: pathOf(request.url),
    clientRequestId: clientRequestIdOf(request.raw),
    statusCode: 200,
    responseTime: performance.now() - request.timing.started,
    stream: outcome,
    msg: 'stream finished',
  });
  return reply;
}
