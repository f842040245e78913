#!/usr/bin/env node
// A fast local OpenAI-format upstream for benchmarks: POST /v1/chat/completions (JSON, or SSE with
// N content chunks, a usage chunk and [DONE]) and POST /v1/embeddings. Prints one JSON line
// {"event":"listening","url":…} when ready. Options: --port (default 0 = any), --chunks (default 20).
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, chunks: { type: 'string' } } });
const CHUNKS = Number(values.chunks ?? 20);
const WORDS = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', '.'];
let seq = 0;

function completion(model) {
  const text = Array.from({ length: CHUNKS }, (_, i) => WORDS[i % WORDS.length]).join('');
  return JSON.stringify({
    id: `chatcmpl-bench${++seq}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS },
  });
}

function streamBody(model) {
  const id = `chatcmpl-bench${++seq}`;
  const created = Math.floor(Date.now() / 1000);
  const base = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":"${model}"`;
  let out = `data: ${base},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`;
  const parts = [out];
  for (let i = 0; i < CHUNKS; i++) {
    parts.push(
      `data: ${base},"choices":[{"index":0,"delta":{"content":${JSON.stringify(WORDS[i % WORDS.length])}},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`,
    );
  }
  parts.push(
    `data: ${base},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n`,
  );
  parts.push(
    `data: ${base},"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":${CHUNKS},"total_tokens":${12 + CHUNKS}}}\n\n`,
  );
  parts.push('data: [DONE]\n\n');
  out = parts;
  return out;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (!req.headers.authorization?.startsWith('Bearer ')) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        '{"error":{"message":"missing key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}',
      );
      return;
    }
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {}
    const model = typeof body.model === 'string' ? body.model : 'gpt-bench';
    if (req.url?.endsWith('/embeddings')) {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const payload = JSON.stringify({
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3, 0.4] })),
        model,
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
      return;
    }
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const part of streamBody(model)) res.write(part);
      res.end();
      return;
    }
    const payload = completion(model);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}`, port }));
});
