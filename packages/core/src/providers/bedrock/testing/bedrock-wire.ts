import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

/**
 * Test helpers that speak Bedrock's wire: Converse JSON bodies, AWS error responses and
 * ConverseStream's binary event-stream frames, encoded with the same codec AWS SDKs use.
 */

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const fixtures = new URL('../__fixtures__/', import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: tests edit fixture bodies freely
export function readFixture(name: string): any {
  return JSON.parse(readFileSync(new URL(name, fixtures), 'utf8'));
}

/** A stream fixture: one `{"<eventType>": payload}` per line, as decoded frames. */
export function readStreamFixture(name: string): WireEvent[] {
  return readFileSync(new URL(name, fixtures), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [eventType, payload] = Object.entries(JSON.parse(line) as Record<string, unknown>)[0]!;
      return { eventType, payload };
    });
}

export interface WireEvent {
  eventType: string;
  payload: unknown;
}

function stringHeaders(values: Record<string, string>): MessageHeaders {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { type: 'string', value: v }]));
}

/** One event frame. The live service pads each payload with a random `p` field. */
export function encodeEvent(event: WireEvent, options: { padding?: boolean } = {}): Uint8Array {
  const payload =
    options.padding === false
      ? event.payload
      : { ...(event.payload as object), p: randomBytes(12).toString('base64url') };
  return codec.encode({
    headers: stringHeaders({
      ':event-type': event.eventType,
      ':content-type': 'application/json',
      ':message-type': 'event',
    }),
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/** An exception frame, e.g. `throttlingException` with `{"message": …}`. */
export function encodeException(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: stringHeaders({
      ':exception-type': exceptionType,
      ':content-type': 'application/json',
      ':message-type': 'exception',
    }),
    body: fromUtf8(JSON.stringify({ message })),
  });
}

export interface EventStreamOptions {
  /** Re-chunk the bytes into writes of this many bytes (splits frames across TCP writes). */
  chunkBytes?: number;
  /** Write all frames in a single write (several frames in one chunk). */
  coalesce?: boolean;
  /** Destroy the socket after this many bytes, mid-frame if it falls there. */
  cutAfterBytes?: number;
  /** End the body cleanly after this many bytes (a truncated but well-terminated body). */
  endAfterBytes?: number;
  /** Pause between writes, so that writes reach the client as separate chunks. */
  delayMs?: number;
  requestId?: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Answers a ConverseStream call with these frames, as `application/vnd.amazon.eventstream`. */
export async function sendEventStream(
  res: ServerResponse,
  frames: Uint8Array[],
  options: EventStreamOptions = {},
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': options.requestId ?? 'b8f1c2d4-0000-4000-8000-5e1ec7ab1e00',
  });
  res.flushHeaders();
  let bytes = Buffer.concat(frames.map((f) => Buffer.from(f)));
  const limit = options.cutAfterBytes ?? options.endAfterBytes;
  if (limit !== undefined) bytes = bytes.subarray(0, limit);
  const writes: Buffer[] = [];
  if (options.coalesce) writes.push(bytes);
  else if (options.chunkBytes) {
    for (let i = 0; i < bytes.length; i += options.chunkBytes)
      writes.push(bytes.subarray(i, i + options.chunkBytes));
  } else {
    let offset = 0;
    for (const frame of frames) {
      const end = Math.min(offset + frame.length, bytes.length);
      if (end > offset) writes.push(bytes.subarray(offset, end));
      offset += frame.length;
    }
  }
  for (const write of writes) {
    res.write(write);
    await pause(options.delayMs ?? 1);
  }
  if (options.cutAfterBytes !== undefined) {
    res.socket?.destroy();
    return;
  }
  res.end();
}

/** An AWS JSON error: the type in `x-amzn-errortype`, the text in `message` (or `Message`). */
export function sendAwsError(
  res: ServerResponse,
  status: number,
  errorType: string | undefined,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': 'e7c0ffee-0000-4000-8000-0000000000e1',
    ...(errorType
      ? { 'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/` }
      : {}),
    ...headers,
  });
  res.end(text);
}

/** A Converse success body. */
export function sendConverse(
  res: ServerResponse,
  body: unknown,
  requestId = 'a1b2c3d4-0000-4000-8000-00000000c0de',
): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
  });
  res.end(text);
}

/** A Converse text answer, the shape of `converse-text.json`. */
export function converseText(text: string): unknown {
  const body = readFixture('converse-text.json');
  body.output.message.content = [{ text }];
  return body;
}
