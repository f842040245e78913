#!/usr/bin/env node
// A fast local OpenAI-format upstream for the gateway benchmark (bench/gateway-compare.mjs).
//
//   POST /v1/chat/completions  JSON, or SSE when body.stream: a role chunk, N content chunks, a
//                              finish chunk, a usage chunk (when stream_options.include_usage, as
//                              OpenAI does) and `data: [DONE]`
//   POST /v1/embeddings        a small float embedding per input
//   GET  /__stats              { total, open, maxOpen, connections, keys: [{ sha256, count }] } since
//                              the last reset (connections: new TCP connections accepted)
//   POST /__reset              clears the counters
//
// It requires `Authorization: Bearer …` (401 in OpenAI's error shape otherwise) and counts the
// requests per credential by the SHA-256 of the Authorization header value, so the runner can
// prove which key reached the provider without any key ever being printed or sent back.
// `open`/`maxOpen` count responses in flight: the RSS benchmark uses them to prove that every
// slow stream really is open upstream at the same time.
//
// Options: --port (default 0 = any free port), --chunks (content chunks per stream, default 20),
// --chunk-delay (ms between stream chunks, default 0). Prints one JSON line
// {"event":"listening","url":…,"port":…} when ready.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { chatCompletion, chatStreamEvents } from './chat-wire.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    chunks: { type: 'string', default: '20' },
    'chunk-delay': { type: 'string', default: '0' },
    'stream-body': { type: 'string', default: 'events' },
  },
});
const STREAM_BODY = values['stream-body'];
if (STREAM_BODY !== 'events' && STREAM_BODY !== 'whole') throw new Error('--stream-body: events or whole');
const CHUNKS = Math.max(1, Number(values.chunks));
const CHUNK_DELAY_MS = Math.max(0, Number(values['chunk-delay']));
const UNAUTHORIZED = JSON.stringify({
  error: {
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.",
    type: 'invalid_request_error',
    param: null,
    code: null,
  },
});

let seq = 0;
let stats = fresh();
function fresh() {
  return { total: 0, open: 0, maxOpen: 0, connections: 0, byKeyHash: new Map() };
}

// One hash per distinct header value, remembered: hashing each request would make the mock's own
// CPU cost grow for no reason, and the set of keys in a benchmark is tiny.
const hashOf = new Map();
function keyHash(value) {
  let h = hashOf.get(value);
  if (h === undefined) {
    h = createHash('sha256').update(value).digest('hex');
    if (hashOf.size < 1000) hashOf.set(value, h);
  }
  return h;
}

function completion(model) {
  return chatCompletion({
    id: `chatcmpl-mock${++seq}`,
    created: Math.floor(Date.now() / 1000),
    model,
    chunks: CHUNKS,
  });
}

function streamEvents(model, includeUsage) {
  return chatStreamEvents({
    id: `chatcmpl-mock${++seq}`,
    created: Math.floor(Date.now() / 1000),
    model,
    chunks: CHUNKS,
    includeUsage,
  });
}

function sendJson(res, status, payload) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

function sendStream(res, events) {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  if (CHUNK_DELAY_MS === 0) {
    if (STREAM_BODY === 'whole') {
      res.end(events.join(''));
      return;
    }
    // One write per event in the same tick, as a provider (and ../shared/bench's mock) sends a
    // fast stream: Node corks them into one TCP segment of chunked-encoding frames, one per event.
    for (let i = 0; i < events.length - 1; i++) res.write(events[i]);
    res.end(events[events.length - 1]);
    return;
  }
  // Slow stream: the first event at once, then one every CHUNK_DELAY_MS.
  let i = 0;
  const tick = () => {
    if (res.destroyed) return;
    res.write(events[i++]);
    if (i < events.length) setTimeout(tick, CHUNK_DELAY_MS);
    else res.end();
  };
  tick();
}

const server = http.createServer((req, res) => {
  if (req.url === '/__stats') {
    const keys = [...stats.byKeyHash].map(([sha256, count]) => ({ sha256, count }));
    sendJson(
      res,
      200,
      JSON.stringify({
        total: stats.total,
        open: stats.open,
        maxOpen: stats.maxOpen,
        connections: stats.connections,
        keys,
      }),
    );
    return;
  }
  if (req.url === '/__reset') {
    const open = stats.open;
    stats = fresh();
    stats.open = open;
    sendJson(res, 200, '{"ok":true}');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const auth = req.headers.authorization;
    stats.total++;
    const h = keyHash(auth ?? '');
    stats.byKeyHash.set(h, (stats.byKeyHash.get(h) ?? 0) + 1);
    if (!auth?.startsWith('Bearer ')) {
      sendJson(res, 401, UNAUTHORIZED);
      return;
    }
    stats.open++;
    if (stats.open > stats.maxOpen) stats.maxOpen = stats.open;
    res.once('close', () => stats.open--);
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // An unparseable body is answered like an empty one; the benchmark never sends one.
    }
    const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
    if (req.url?.endsWith('/embeddings')) {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      sendJson(
        res,
        200,
        JSON.stringify({
          object: 'list',
          data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3, 0.4] })),
          model,
          usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
        }),
      );
      return;
    }
    if (body.stream === true) {
      sendStream(res, streamEvents(model, body.stream_options?.include_usage === true));
      return;
    }
    sendJson(res, 200, completion(model));
  });
});
// New TCP connections since the last reset: a proxy that reuses its upstream connections opens
// only a handful per run; one that destroys them opens one per request.
server.on('connection', () => {
  stats.connections++;
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxConnections = 20_000;
// A deep accept queue: the RSS benchmark opens thousands of connections within a second or two.
server.listen({ port: Number(values.port), host: '127.0.0.1', backlog: 8192 }, () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}`, port })}\n`);
});
