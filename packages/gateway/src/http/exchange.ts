import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTiming } from '../routing/provider-caller.js';
import { type AccessLog, milliseconds, pathOf } from './access-log.js';
import type { Problem } from './problem.js';
import { clientRequestIdOf, requestIdOf } from './request-id.js';
import { errorBody, type Surface } from './surface.js';

export type ResponseHeaders = Record<string, string | number | string[]>;

/**
 * One request to the client API and its response, on node's own request and response objects.
 * The API routes (`/v1/…`) run on this rather than on Fastify's request and reply: they need a
 * fraction of what Fastify does per request (hooks, a reply object, a content-type parser, a
 * serializer lookup), and on a gateway that adds two hops to every call, that part is a tenth of
 * its CPU (bench/README.md). It sets what the server's hooks set on every other route: the
 * request id, the client's own id, the overhead header and the access log line.
 */
export class Exchange {
  /** The gateway's request id (`req_…`), on the response and every log line. */
  readonly id: string = requestIdOf();
  readonly timing: RequestTiming = { started: performance.now(), upstreamMs: 0 };
  /** The parsed JSON body (`undefined` when none was sent). */
  body: unknown = undefined;
  /** Response headers set so far, lower-case names. */
  readonly replyHeaders: ResponseHeaders;
  readonly clientRequestId: string | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly surface: Surface,
    private readonly access: AccessLog,
  ) {
    this.clientRequestId = clientRequestIdOf(req);
    this.replyHeaders =
      this.clientRequestId === undefined
        ? { 'x-request-id': this.id }
        : { 'x-request-id': this.id, 'x-client-request-id': this.clientRequestId };
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  header(name: string, value: string | number): void {
    this.replyHeaders[name] = value;
  }

  /** Sets every header of `headers` (lower-case names). */
  setHeaders(headers: Readonly<Record<string, string>>): void {
    for (const name in headers) this.replyHeaders[name] = headers[name]!;
  }

  /** Milliseconds spent inside the gateway so far, upstream waits excluded, as header text. */
  overhead(): string {
    return milliseconds(Math.max(0, performance.now() - this.timing.started - this.timing.upstreamMs));
  }

  /**
   * Keeps what is written to the response from here on, and what was written earlier in this
   * turn, in node's buffer until the returned release has been called and the turn's
   * microtasks have run (or the response ends): a stream whose last events wait for their usage
   * event to be durable (the ledger's journal write at the end of the turn) then still leaves in
   * one socket write rather than two — node's own per-turn cork would send the earlier part alone.
   */
  holdOutput(): () => void {
    const res = this.res;
    res.cork();
    return () => process.nextTick(uncork, res);
  }

  /** Sends `body` as JSON with `status`, and logs the access line. */
  send(status: number, body: unknown): void {
    this.sendJson(status, JSON.stringify(body));
  }

  /** Sends `text`, a JSON document, with `status`, and logs the access line. */
  sendJson(status: number, text: string): void {
    const res = this.res;
    if (res.headersSent || res.destroyed) return;
    const headers = this.replyHeaders;
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = Buffer.byteLength(text);
    headers['x-keyhold-overhead-ms'] = this.overhead();
    res.writeHead(status, headers);
    res.end(text);
    this.log(status, 'request completed', undefined);
  }

  /** Sends a problem in the surface's error shape, with `retry-after` when it has one. */
  refuse(p: Problem): void {
    if (p.headers) this.setHeaders(p.headers);
    if (p.retryAfterSeconds !== undefined) this.replyHeaders['retry-after'] = String(p.retryAfterSeconds);
    this.send(p.status, errorBody(this.surface, p));
  }

  /** The access line; `stream` says how a stream ended. */
  log(statusCode: number, msg: string, stream: string | undefined): void {
    this.access({
      reqId: this.id,
      method: this.req.method ?? '',
      path: pathOf(this.req.url ?? ''),
      clientRequestId: this.clientRequestId,
      statusCode,
      responseTime: performance.now() - this.timing.started,
      stream,
      msg,
    });
  }
}

function uncork(res: ServerResponse): void {
  // `end()` uncorks fully by itself.
  if (!res.writableEnded) res.uncork();
}
