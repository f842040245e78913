#!/usr/bin/env node
// The floor for any Node.js gateway: a pass-through HTTP proxy with no logic at all. Method, path,
// headers and body go to the upstream over a keep-alive undici pool and the answer comes back
// chunk by chunk (both directions are streams, so a slow SSE stream is forwarded as it arrives
// and backpressure is respected). No auth, no parsing, no logging, and, like the floor of
// ../shared/bench, no abort of the upstream request when a client leaves early.
//
//   node bench/bare-proxy.mjs --upstream http://127.0.0.1:8090 --port 8080
//
// The pool has no connection limit, so thousands of concurrent slow streams are all open upstream
// at once (the RSS benchmark relies on that). Prints {"event":"listening","url":…,"port":…}.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } },
});
if (!values.upstream) {
  process.stderr.write('usage: node bench/bare-proxy.mjs --upstream URL [--port N]\n');
  process.exit(2);
}

const pool = new Pool(values.upstream, {
  pipelining: 1,
  keepAliveTimeout: 30_000,
  headersTimeout: 0,
  bodyTimeout: 0,
});
// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones undici computes itself.
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
]);

function forwardable(headers) {
  const out = {};
  for (const name in headers) if (!HOP.has(name)) out[name] = headers[name];
  return out;
}

const server = http.createServer((req, res) => {
  // No AbortController here, as in ../shared/bench/bare-proxy.mjs, the floor issue 3 names: on
  // Node 20 one per request (and undici's listener on its signal) cost this proxy 14-43 µs of CPU
  // per non-streamed request at 8 connections, 10-30 % of the floor, measured as two floors in the
  // same rounds (bench/README.md, machine M). A floor that pays for it flatters every gateway.
  pool
    .request({
      method: req.method,
      path: req.url,
      headers: forwardable(req.headers),
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    })
    .then(({ statusCode, headers, body }) => {
      res.writeHead(statusCode, forwardable(headers));
      body.on('error', () => res.destroy());
      body.pipe(res);
    })
    .catch(() => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('upstream unreachable');
    });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 0;
server.requestTimeout = 0;
// A deep accept queue: the RSS benchmark opens thousands of connections within a second or two.
server.listen({ port: Number(values.port), host: '127.0.0.1', backlog: 8192 }, () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}`, port })}\n`);
});
