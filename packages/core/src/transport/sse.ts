import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  event?: string | undefined;
  data: string;
}

/**
 * Parses a text/event-stream body into batches of events, one batch per body chunk that
 * completed at least one event, as bytes arrive. Batching keeps the per-event cost to a plain
 * loop instead of an async-generator hop per event. A body that ends in the middle of an event
 * drops that partial event (the SSE spec's rule), so a cut stream never yields half a JSON document.
 */
export async function* parseSseBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent[]> {
  let batch: SseEvent[] = [];
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      // The parser's message is fresh for each event and has both fields: no copy needed.
      batch.push(message);
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (batch.length > 0) {
      const ready = batch;
      batch = [];
      yield ready;
    }
  }
  const tail = decoder.decode();
  if (tail) parser.feed(tail);
  if (batch.length > 0) yield batch;
}

/** Parses a text/event-stream body into events as bytes arrive (see `parseSseBatches`). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  for await (const batch of parseSseBatches(body)) yield* batch;
}
