import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the local upstream server received it. */
export interface RecordedRequest {
  method: string;
  /** Path and query string. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  rawBody: Buffer;
  /** The body parsed as JSON, or undefined. */
  body: any;
}

export type UpstreamHandler = (request: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface Upstream {
  url: string;
  requests: RecordedRequest[];
  server: Server;
  /** Replaces the handler (one server can play several scenarios). */
  handle(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

/** Starts a local HTTP server on an ephemeral port that records every request it gets. */
export async function startUpstream(handler: UpstreamHandler): Promise<Upstream> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let body: unknown;
      try {
        body = rawBody.length ? JSON.parse(rawBody.toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        rawBody,
        body,
      };
      requests.push(recorded);
      Promise.resolve(current(recorded, res)).catch((error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(error));
      });
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export interface SseOptions {
  /** Delay between events (ms). */
  delayMs?: number;
  /** Destroy the connection after this many events, without ending the stream properly. */
  cutAfter?: number;
  headers?: Record<string, string>;
  /** Line terminator between events: '\n\n' (default) or '\r\n\r\n' as Google sometimes sends. */
  separator?: string;
}

/** Writes server-sent events: each item is `{ event?, data }` with data already serialised. */
export async function sendSse(
  res: ServerResponse,
  events: { event?: string; data: string }[],
  options: SseOptions = {},
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    ...options.headers,
  });
  const sep = options.separator ?? '\n\n';
  const eol = sep === '\r\n\r\n' ? '\r\n' : '\n';
  for (const [i, e] of events.entries()) {
    if (options.cutAfter !== undefined && i >= options.cutAfter) {
      // Give the client time to read what was flushed, so it sees a stream cut mid-way rather
      // than a connection that failed before any event.
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    const frame = `${e.event ? `event: ${e.event}${eol}` : ''}data: ${e.data}${sep}`;
    // Wait until each frame is handed to the kernel, so a later cut never discards earlier events.
    await new Promise<void>((resolve) => res.write(frame, () => resolve()));
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
  }
  res.end();
}
