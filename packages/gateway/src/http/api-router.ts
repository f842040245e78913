import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AccessLog } from './access-log.js';
import { Exchange } from './exchange.js';
import { type Outcome, problemFromError } from './problem.js';
import { readJsonBody } from './read-json-body.js';
import type { Surface } from './surface.js';

/** One route of the client API, answered on node's request and response (see `Exchange`). */
export interface ApiRoute {
  method: 'GET' | 'POST';
  /** The exact path; a trailing slash and a query string are ignored. */
  path: string;
  surface: Surface;
  /** Runs once the body is read (POST) and parsed; sends the response itself. */
  handle(exchange: Exchange): Promise<unknown>;
}

export interface ApiRouterOptions {
  routes: readonly ApiRoute[];
  access: AccessLog;
  logger: Logger;
  bodyLimit: number;
  /** True once the server is shutting down: requests are then left to Fastify, which answers 503. */
  isClosing: () => boolean;
}

const NO_BODY: Outcome<unknown> = { ok: true, value: undefined };

/**
 * The dispatcher in front of Fastify: it answers the client API's routes itself and returns
 * true, or returns false and leaves the request to Fastify (health, admin API, unknown routes,
 * other methods, and everything while the server closes).
 */
export function createApiRouter(
  options: ApiRouterOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const byPath = new Map<string, ApiRoute>();
  for (const route of options.routes) byPath.set(route.path, route);
  const { access, logger, bodyLimit } = options;

  async function serve(route: ApiRoute, exchange: Exchange): Promise<void> {
    const read = route.method === 'POST' ? readJsonBody(exchange.req, bodyLimit) : NO_BODY;
    const body = read instanceof Promise ? await read : read;
    if (!body.ok) {
      // A body refused before its end (too large, an unsupported type) is not read on: the
      // connection closes rather than drain it. One read in full (bad JSON) keeps it alive.
      if (!exchange.req.complete) exchange.header('connection', 'close');
      exchange.refuse(body.problem);
      return;
    }
    exchange.body = body.value;
    await route.handle(exchange);
  }

  function fail(exchange: Exchange, error: unknown): void {
    const p = problemFromError(error);
    if (p.status >= 500) {
      const err = error as { name?: unknown; code?: unknown };
      logger.error({ reqId: exchange.id, err: { type: err?.name, code: err?.code } }, 'unhandled error');
    }
    if (!exchange.res.headersSent) exchange.refuse(p);
    else exchange.res.destroy();
  }

  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const route = byPath.get(path);
    if (route === undefined || route.method !== req.method || options.isClosing()) return false;
    const exchange = new Exchange(req, res, route.surface, access);
    serve(route, exchange).catch((error) => fail(exchange, error));
    return true;
  };
}
