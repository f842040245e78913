import type { Operation } from '../providers/catalogue.js';
import type { KeyMaterial } from './credential.js';

/** Returned by a resolver object's `fetch` to pass the lookup on to the next link of the chain. */
export const NOT_FOUND: unique symbol = Symbol.for('keyhold.key-not-found');

/** What a resolver learns about the call it resolves a key for. */
export interface ResolverContext {
  provider: string;
  model: string;
  operation: Operation;
  /** Whatever the caller passed as `context` in the call options (e.g. a tenant id). */
  [key: string]: unknown;
}

export type ResolverResult = KeyMaterial | undefined | typeof NOT_FOUND;

/** A resolver object, e.g. backed by a secrets manager. */
export interface KeyResolverObject {
  fetch(provider: string, context: ResolverContext): ResolverResult | Promise<ResolverResult>;
}

export type KeyResolverFunction = (
  provider: string,
  context: ResolverContext,
) => ResolverResult | Promise<ResolverResult>;

/**
 * An engine's resolver: a map from provider id to key, a function re-evaluated on every call, or
 * an object whose `fetch` returns a key or `NOT_FOUND`.
 */
export type KeyResolver = Readonly<Record<string, KeyMaterial>> | KeyResolverFunction | KeyResolverObject;

export async function runResolver(
  resolver: KeyResolver,
  context: ResolverContext,
): Promise<KeyMaterial | undefined> {
  let result: ResolverResult;
  if (typeof resolver === 'function') {
    result = await resolver(context.provider, context);
  } else if (isResolverObject(resolver)) {
    result = await resolver.fetch(context.provider, context);
  } else {
    result = Object.hasOwn(resolver, context.provider) ? resolver[context.provider] : undefined;
  }
  return result === NOT_FOUND || result === undefined || result === null ? undefined : result;
}

function isResolverObject(value: unknown): value is KeyResolverObject {
  return (
    typeof value === 'object' && value !== null && typeof (value as KeyResolverObject).fetch === 'function'
  );
}
