import { Agent, type Dispatcher } from 'undici';
import { type AbortSignalLike, abortReason } from './abort.js';
import { DispatchedResponse } from './dispatched-response.js';

export interface TransportRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignalLike;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as it arrives. Read it fully or call `dump()`, or the connection is not reused. */
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  /** Discards the rest of the body. */
  dump(): Promise<void>;
}

/** How adapters reach the network. Injected, so tests and the gateway can supply their own. */
export interface Transport {
  request(request: TransportRequest): Promise<TransportResponse>;
}

export interface UndiciTransportOptions {
  /**
   * Most connections per upstream origin (default: no limit). A gateway holds one upstream
   * connection per open stream, so a cap here would queue every stream past it.
   */
  connections?: number;
  /** Time to wait for response headers (ms). */
  headersTimeout?: number;
  /** Longest pause between body chunks (ms); streams with slow models need a generous one. */
  bodyTimeout?: number;
  connectTimeout?: number;
  /** A custom undici dispatcher (e.g. one that pins DNS results for an SSRF guard). */
  dispatcher?: Dispatcher;
}

/**
 * The default transport: undici with keep-alive pools per origin. Redirects are never followed:
 * a provider that redirects is treated as an error, so a key cannot be carried to another host.
 */
export function createUndiciTransport(options: UndiciTransportOptions = {}): Transport {
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connections: options.connections ?? null,
      keepAliveTimeout: 30_000,
      headersTimeout: options.headersTimeout ?? 120_000,
      bodyTimeout: options.bodyTimeout ?? 300_000,
      connect: { timeout: options.connectTimeout ?? 10_000 },
    });
  // Upstream URLs repeat (one per provider endpoint), so their parse is memoised.
  const parsed = new Map<string, { origin: string; path: string }>();
  const split = (href: string) => {
    let hit = parsed.get(href);
    if (!hit) {
      const url = new URL(href);
      hit = { origin: url.origin, path: url.pathname + url.search };
      if (parsed.size > 1000) parsed.clear();
      parsed.set(href, hit);
    }
    return hit;
  };
  return {
    request(req) {
      const url = split(req.url);
      const signal = req.signal;
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      return new Promise<TransportResponse>((resolve, reject) => {
        const response = new DispatchedResponse(signal, resolve, reject);
        dispatcher.dispatch(
          {
            origin: url.origin,
            path: url.path,
            method: req.method,
            headers: req.headers,
            body: req.body ?? null,
          },
          response,
        );
      });
    },
  };
}

let shared: Transport | undefined;

/** One process-wide transport so every engine shares connection pools. */
export function defaultTransport(): Transport {
  shared ??= createUndiciTransport();
  return shared;
}
