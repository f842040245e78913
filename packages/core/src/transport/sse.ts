import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * Parses a text/event-stream body into events as bytes arrive. A body that ends in the middle of
 * an event drops that partial event (the SSE spec's rule), so a cut stream never yields half a
 * JSON document.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const queue: SseEvent[] = [];
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      queue.push({ event: message.event, data: message.data });
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    while (queue.length > 0) yield queue.shift()!;
  }
  const tail = decoder.decode();
  if (tail) parser.feed(tail);
  while (queue.length > 0) yield queue.shift()!;
}
