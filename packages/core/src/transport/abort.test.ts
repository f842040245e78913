import { describe, expect, it, vi } from 'vitest';
import { AbortSource, abortReason, eitherSignal, toAbortSignal } from './abort.js';

describe('AbortSource', () => {
  it('aborts once, with its reason, and tells each listener once', () => {
    const source = new AbortSource();
    const heard = vi.fn();
    source.addEventListener('abort', heard, { once: true });
    expect(source.aborted).toBe(false);
    const reason = new Error('client left');
    source.abort(reason);
    source.abort(new Error('again'));
    expect(source.aborted).toBe(true);
    expect(source.reason).toBe(reason);
    expect(heard).toHaveBeenCalledTimes(1);
  });

  it('gives an AbortError DOMException when aborted without a reason', () => {
    const source = new AbortSource();
    expect(source.reason).toBeUndefined();
    source.abort();
    expect(source.reason).toBeInstanceOf(DOMException);
    expect((source.reason as DOMException).name).toBe('AbortError');
    // Made once, when first read: every reader sees the same object.
    expect(source.reason).toBe(source.reason);
  });

  it('does not call a removed listener, nor one added after the abort', () => {
    const source = new AbortSource();
    const removed = vi.fn();
    const kept = vi.fn();
    source.addEventListener('abort', removed);
    source.addEventListener('abort', kept);
    source.removeEventListener('abort', removed);
    source.abort();
    const late = vi.fn();
    source.addEventListener('abort', late);
    expect(removed).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
    expect(late).not.toHaveBeenCalled();
  });

  it('is its own signal', () => {
    const source = new AbortSource();
    expect(source.signal).toBe(source);
  });
});

describe('eitherSignal', () => {
  it('follows whichever aborts first, with that reason', () => {
    const a = new AbortSource();
    const b = new AbortController();
    const { signal } = eitherSignal(a, b.signal);
    const reason = new Error('timeout');
    b.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    a.abort(new Error('later'));
    expect(signal.reason).toBe(reason);
  });

  it('is aborted at once when one input already is', () => {
    const a = new AbortSource();
    a.abort(new Error('gone'));
    const { signal } = eitherSignal(a, new AbortSource());
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('gone');
  });

  it('detach() leaves no listener on either input', () => {
    const a = new AbortController();
    const b = new AbortSource();
    const spyA = vi.spyOn(a.signal, 'removeEventListener');
    const spyB = vi.spyOn(b, 'removeEventListener');
    const { signal, detach } = eitherSignal(a.signal, b);
    detach();
    expect(spyA).toHaveBeenCalledTimes(1);
    expect(spyB).toHaveBeenCalledTimes(1);
    a.abort();
    b.abort();
    expect(signal.aborted).toBe(false);
  });
});

describe('toAbortSignal', () => {
  it('returns a standard signal as it is', () => {
    const signal = new AbortController().signal;
    expect(toAbortSignal(signal)).toBe(signal);
  });

  it('makes a standard signal that follows an AbortSource', () => {
    const source = new AbortSource();
    const signal = toAbortSignal(source);
    expect(signal).toBeInstanceOf(AbortSignal);
    const reason = new Error('stop');
    source.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('is aborted at once for an aborted source', () => {
    const source = new AbortSource();
    source.abort();
    expect(toAbortSignal(source).aborted).toBe(true);
    expect(abortReason(source)).toBe(source.reason);
  });
});
