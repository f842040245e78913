import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, Dispatcher } from 'undici';
import { normaliseHost } from './allow-list.js';
import { EgressRefusedError } from './egress-error.js';
import type { SsrfPolicy } from './ssrf-policy.js';

export interface EgressAgentOptions {
  policy: SsrfPolicy;
  /** DNS lookup (default `dns.lookup`); tests inject one that answers what they need. */
  lookup?: LookupFunction;
  /**
   * Most connections per upstream origin (default: no limit). A gateway holds one upstream
   * connection per open stream, so a cap would queue every stream past it behind the others.
   */
  connections?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
  connectTimeout?: number;
}

/**
 * An undici dispatcher that checks every address it is about to connect to against the egress
 * policy, after DNS resolution: the lookup it hands to `net.connect` / `tls.connect` resolves
 * all addresses and refuses the connection if any one of them is disallowed, and IP literals
 * (which skip the lookup) are checked before connecting. The check and the connection use the
 * same answer, so a name that resolves to a public address at save time and to 127.0.0.1 later
 * (DNS rebinding) is refused.
 *
 * Redirects: undici's `dispatcher.request` never follows them (core's transport relies on this),
 * so a 3xx cannot carry a key to another host.
 *
 * @example
 * const transport = createUndiciTransport({ dispatcher: createEgressAgent({ policy }) });
 */
export function createEgressAgent(options: EgressAgentOptions): Agent {
  const { policy } = options;
  const lookup = guardedLookup(policy, options.lookup ?? (dnsLookup as LookupFunction));
  const connector = buildConnector({
    timeout: options.connectTimeout ?? 10_000,
    lookup,
  } as buildConnector.BuildOptions);
  return new Agent({
    connections: options.connections ?? null,
    keepAliveTimeout: 30_000,
    headersTimeout: options.headersTimeout ?? 120_000,
    bodyTimeout: options.bodyTimeout ?? 300_000,
    connect(connectOptions, callback) {
      const host = normaliseHost(connectOptions.hostname);
      if (isIP(host) !== 0) {
        const verdict = policy.checkAddress(host, host);
        if (!verdict.ok) {
          callback(new EgressRefusedError(host, verdict.reason), null);
          return;
        }
      }
      connector(connectOptions, callback);
    },
  });
}

/** Wraps a DNS lookup so that it fails when any resolved address is disallowed for the host. */
export function guardedLookup(policy: SsrfPolicy, lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, resolved) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      const addresses = (Array.isArray(resolved) ? resolved : []) as LookupAddress[];
      if (addresses.length === 0) {
        callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        return;
      }
      for (const { address } of addresses) {
        const verdict = policy.checkAddress(address, hostname);
        if (!verdict.ok) {
          callback(new EgressRefusedError(hostname, verdict.reason), '', 0);
          return;
        }
      }
      if (options.all) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      } else {
        callback(null, addresses[0]!.address, addresses[0]!.family);
      }
    });
  };
}

/**
 * An egress dispatcher whose pooled connections can be dropped. The policy is checked when a
 * connection is opened, so a keep-alive connection opened while a host was allow-listed would
 * go on serving it after the operator removed it; `reset()` (called when entries are removed)
 * hands new requests to a fresh agent — which connects, and checks, anew — and closes the old
 * one once its in-flight requests are done.
 *
 * @example
 * const dispatcher = createEgressDispatcher({ policy });
 * followAllowList({ …, policy, onEntriesRemoved: () => dispatcher.reset() });
 */
export function createEgressDispatcher(options: EgressAgentOptions): EgressDispatcher {
  return new EgressDispatcher(() => createEgressAgent(options));
}

export class EgressDispatcher extends Dispatcher {
  #current: Agent;
  readonly #make: () => Agent;
  readonly #retiring = new Set<Promise<void>>();

  constructor(make: () => Agent) {
    super();
    this.#make = make;
    this.#current = make();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#current.dispatch(options, handler);
  }

  /** Drops every pooled connection: later requests connect (and are checked) afresh. */
  reset(): void {
    const old = this.#current;
    this.#current = this.#make();
    const closing = old.close().catch(() => undefined);
    this.#retiring.add(closing);
    void closing.then(() => this.#retiring.delete(closing));
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.#current.close(), ...this.#retiring]).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(
    errorOrCallback?: Error | null | (() => void),
    callback?: () => void,
  ): Promise<void> | void {
    const error = typeof errorOrCallback === 'function' ? null : (errorOrCallback ?? null);
    const then = typeof errorOrCallback === 'function' ? errorOrCallback : callback;
    const done = this.#current.destroy(error).then(() => undefined);
    if (!then) return done;
    void done.then(then, then);
  }
}
