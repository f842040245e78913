import type { StreamEvent } from '../types/index.js';

/**
 * A stream of neutral events that is produced in batches: one batch per body chunk the provider
 * sent. Iterating it yields event by event, like any adapter stream; `batches()` hands over whole
 * batches, which is how the engine reads it — the per-event work is then a plain loop instead of an
 * async-generator resume and a promise per event, the dominant cost of a streamed call.
 */
export class EventBatches implements AsyncIterable<StreamEvent> {
  readonly #source: AsyncIterable<readonly StreamEvent[]>;

  constructor(source: AsyncIterable<readonly StreamEvent[]>) {
    this.#source = source;
  }

  batches(): AsyncIterator<readonly StreamEvent[]> {
    return this.#source[Symbol.asyncIterator]();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    for await (const batch of this.#source) yield* batch;
  }
}

/** The batch iterator of an adapter stream, or undefined when it produces events one by one. */
export function batchesOf(
  stream: AsyncIterable<StreamEvent>,
): AsyncIterator<readonly StreamEvent[]> | undefined {
  return stream instanceof EventBatches ? stream.batches() : undefined;
}
