import type { Dispatcher } from 'undici';
import { type AbortSignalLike, abortReason } from './abort.js';
import type { TransportResponse } from './transport.js';

/** Bytes buffered ahead of a slow body reader before the upstream socket is paused. */
const HIGH_WATER_MARK = 64 * 1024;
/** A body that is dumped is read this far at most; past it the connection is dropped instead. */
const DUMP_LIMIT = 128 * 1024;

type Controller = Dispatcher.DispatchController;

/**
 * One upstream exchange driven through undici's `dispatch` handler API: the handler is the
 * response. undici's `request` wraps every response body in a Node `Readable` (plus an async
 * resource and a callback-to-promise step); a gateway reads each body exactly once, either whole
 * (`text`) or chunk by chunk (`body`), so chunks go straight from the parser to that one reader.
 *
 * Backpressure: while more than {@link HIGH_WATER_MARK} bytes wait for a body reader, the socket is
 * paused, and resumed once the reader catches up. A reader that stops early (`return()` of the
 * iterator) aborts the request, which closes the connection rather than handing a half-read one
 * back to the pool.
 */
export class DispatchedResponse implements TransportResponse, Dispatcher.DispatchHandler {
  status = 0;
  headers: Record<string, string> = {};

  #controller: Controller | undefined;
  readonly #signal: AbortSignalLike | undefined;
  #onAbort: (() => void) | undefined;
  #resolveStart: ((response: TransportResponse) => void) | undefined;
  #rejectStart: ((error: unknown) => void) | undefined;

  #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;
  #error: unknown;
  /** Set when the caller aborted before undici started the request. */
  #aborted: unknown;
  /** How the body is being read: not yet, whole, chunk by chunk, or discarded. */
  #mode: 'unread' | 'text' | 'chunks' | 'dump' = 'unread';
  #dumped = 0;
  /** The reader waiting for the next chunk, the end or a failure. */
  #wake: (() => void) | undefined;

  constructor(
    signal: AbortSignalLike | undefined,
    resolve: (response: TransportResponse) => void,
    reject: (error: unknown) => void,
  ) {
    this.#signal = signal;
    this.#resolveStart = resolve;
    this.#rejectStart = reject;
    if (signal) {
      this.#onAbort = () => this.#abort(abortReason(signal));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  // --- undici's handler side -----------------------------------------------------------------

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#aborted !== undefined) controller.abort(this.#aborted as Error);
    else if (this.#signal?.aborted) controller.abort(abortReason(this.#signal) as Error);
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx informational responses are followed by the real one.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = flatHeaders(headers);
    const resolve = this.#resolveStart;
    this.#resolveStart = undefined;
    this.#rejectStart = undefined;
    resolve?.(this);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    const mode = this.#mode;
    if (mode === 'dump') {
      this.#dumped += chunk.length;
      if (this.#dumped > DUMP_LIMIT) controller.abort(new Error('Response body discarded'));
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // A whole-body reader waits for the end anyway: only a chunk reader is woken, and paused for.
    if (mode === 'text') return;
    if (this.#buffered > HIGH_WATER_MARK && !controller.paused) controller.pause();
    this.#notify();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#settle();
  }

  onResponseError(_controller: Controller, error: Error): void {
    if (this.#rejectStart) {
      const reject = this.#rejectStart;
      this.#resolveStart = undefined;
      this.#rejectStart = undefined;
      this.#detach();
      reject(error);
      return;
    }
    this.#error ??= error;
    this.#settle();
  }

  // --- the reader's side ---------------------------------------------------------------------

  get body(): AsyncIterable<Uint8Array> {
    return { [Symbol.asyncIterator]: () => this.#iterator() };
  }

  async text(): Promise<string> {
    this.#mode = 'text';
    this.#resume();
    while (!this.#ended && this.#error === undefined) await this.#next();
    if (this.#error !== undefined) throw this.#error;
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#buffered = 0;
    if (chunks.length === 1) return chunks[0]!.toString('utf8');
    return Buffer.concat(chunks).toString('utf8');
  }

  async dump(): Promise<void> {
    this.#mode = 'dump';
    this.#dumped = this.#buffered;
    this.#chunks = [];
    this.#buffered = 0;
    this.#resume();
    while (!this.#ended && this.#error === undefined) await this.#next();
  }

  #iterator(): AsyncIterator<Uint8Array> {
    this.#mode = 'chunks';
    const take = (): IteratorResult<Uint8Array> | undefined => {
      if (this.#chunks.length > 0) {
        // Everything buffered leaves as one chunk: a reader that fell behind catches up in one step.
        const chunks = this.#chunks;
        this.#chunks = [];
        this.#buffered = 0;
        this.#resume();
        return { done: false, value: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return { done: true, value: undefined };
      return undefined;
    };
    return {
      next: async () => {
        for (;;) {
          const result = take();
          if (result) return result;
          await this.#next();
        }
      },
      return: async () => {
        if (!this.#ended && this.#error === undefined)
          this.#abort(new Error('Response body not read to the end'));
        this.#chunks = [];
        this.#buffered = 0;
        return { done: true, value: undefined };
      },
    };
  }

  /** Resolves when a chunk, the end or a failure arrives. */
  #next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }

  #notify(): void {
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
  }

  #settle(): void {
    this.#detach();
    this.#notify();
  }

  #resume(): void {
    const controller = this.#controller;
    if (controller?.paused) controller.resume();
  }

  #abort(reason: unknown): void {
    const controller = this.#controller;
    if (controller) {
      if (!controller.aborted) controller.abort(reason as Error);
      return;
    }
    // Still queued for a connection: the caller hears at once; onRequestStart aborts it later.
    this.#aborted = reason;
    const reject = this.#rejectStart;
    this.#resolveStart = undefined;
    this.#rejectStart = undefined;
    this.#detach();
    reject?.(reason);
  }

  #detach(): void {
    if (this.#onAbort) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
  }
}

/** undici's headers, with repeated ones joined; the object itself when none repeats (the usual case). */
export function flatHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  for (const name in raw) {
    if (typeof raw[name] !== 'string') {
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(raw)) {
        if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
      }
      return headers;
    }
  }
  return raw as Record<string, string>;
}
