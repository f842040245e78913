/**
 * What core reads of an abort signal. A standard `AbortSignal` is one; so is an {@link AbortSource}.
 *
 * Why not `AbortSignal` everywhere: on Node 20 every `AbortSignal` is made by changing an
 * `EventTarget`'s prototype (`Object.setPrototypeOf`), which costs microseconds and leaves a
 * slow-mode object behind; a gateway makes one per request and per attempt. Core only needs to
 * ask whether a call was aborted and to hear when it is.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A cheap abort controller whose signal is itself: `abort(reason)` once, listeners told once.
 *
 * @example
 * const source = new AbortSource();
 * res.once('close', () => source.abort());
 * await generate(engine, input, { apiKey, signal: source });
 */
export class AbortSource implements AbortSignalLike {
  #aborted = false;
  #reason: unknown;
  #listeners: (() => void)[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    // Made when first read: a DOMException captures a stack (~20 µs), and most aborts (a client
    // that left after its response) are never asked why.
    if (this.#aborted && this.#reason == null) this.#reason = abortError();
    return this.#reason;
  }

  /** The signal to hand to calls (this object). */
  get signal(): AbortSignalLike {
    return this;
  }

  /** Aborts once; later calls do nothing. Without a reason, an `AbortError` `DOMException`. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.#aborted) return;
    if (this.#listeners) this.#listeners.push(listener);
    else this.#listeners = [listener];
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (!listeners) return;
    const at = listeners.indexOf(listener);
    if (at !== -1) listeners.splice(at, 1);
  }
}

/** The reason of an aborted signal, or an `AbortError` when it gave none. */
export function abortReason(signal: AbortSignalLike): unknown {
  return signal.reason ?? abortError();
}

/** What a standard `AbortController.abort()` without a reason gives. */
function abortError(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A standard `AbortSignal` for `signal`, for APIs that need one (`fetch`, a custom transport):
 * `signal` itself when it is one, else a new signal that follows it.
 */
export function toAbortSignal(signal: AbortSignalLike): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort(abortReason(signal));
  else signal.addEventListener('abort', () => controller.abort(abortReason(signal)), { once: true });
  return controller.signal;
}

/**
 * A signal that aborts when `a` or `b` does, with that one's reason, plus a function that
 * detaches it from both (call it when the call is over, so neither keeps a listener).
 */
export function eitherSignal(
  a: AbortSignalLike,
  b: AbortSignalLike,
): { signal: AbortSignalLike; detach(): void } {
  const either = new AbortSource();
  if (a.aborted || b.aborted) {
    either.abort(abortReason(a.aborted ? a : b));
    return { signal: either, detach() {} };
  }
  const onA = () => either.abort(abortReason(a));
  const onB = () => either.abort(abortReason(b));
  a.addEventListener('abort', onA, { once: true });
  b.addEventListener('abort', onB, { once: true });
  return {
    signal: either,
    detach() {
      a.removeEventListener('abort', onA);
      b.removeEventListener('abort', onB);
    },
  };
}
