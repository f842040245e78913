// A minimal translating gateway: the least a gateway that reads and rewrites OpenAI chat traffic
// does, with none of Keyhold's features. Fastify server; one fixed client key compared with ===;
// the request body parsed, a new upstream body built and sent over an undici pool with one fixed
// provider key; the answer parsed and a new chat completion built and serialised (a stream: each
// SSE event parsed and re-encoded, everything decoded from one upstream read written at once).
// No auth store, key resolution, vault, limits, budgets, metering, logging or validation, and, like
// bench/bare-proxy.mjs, no abort of the upstream call when the client leaves (on Node 20 an
// AbortController per request costs a proxy 10-30 % of its CPU; bench/README.md, machine M).
//
//   node bench/minimal-gateway.mjs --upstream http://127.0.0.1:8090 --client-key K --provider-key P
//
// gateway-compare.mjs runs it with `--minimal`: Keyhold's CPU per request over this one is the
// cost of Keyhold's own work, apart from what any Node gateway pays. Unlike bench/bare-proxy.mjs it
// does not stream request and response bodies through (a translating gateway has to read them
// whole), which is itself cheaper in Node than piping. Prints {"event":"listening","url":…,"port":…}.
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    'client-key': { type: 'string' },
    'provider-key': { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
if (!values.upstream || !values['client-key'] || !values['provider-key']) {
  process.stderr.write(
    'usage: node bench/minimal-gateway.mjs --upstream URL --client-key K --provider-key P [--port N]\n',
  );
  process.exit(2);
}

const CLIENT = `Bearer ${values['client-key']}`;
const PROVIDER = `Bearer ${values['provider-key']}`;
const pool = new Pool(values.upstream, { pipelining: 1, keepAliveTimeout: 30_000 });
const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });

const openAIError = (reply, status, message) =>
  reply.code(status).send({ error: { message, type: 'invalid_request_error', param: null, code: null } });

app.post('/v1/chat/completions', async (request, reply) => {
  if (request.headers.authorization !== CLIENT) return openAIError(reply, 401, 'Invalid API key');
  const body = request.body;
  if (typeof body?.model !== 'string' || !Array.isArray(body.messages))
    return openAIError(reply, 400, 'model and messages are required');
  const stream = body.stream === true;
  const upstreamBody = {
    model: body.model,
    messages: body.messages.map((m) => ({ role: m.role, content: m.content })),
  };
  if (body.max_tokens !== undefined) upstreamBody.max_tokens = body.max_tokens;
  if (body.temperature !== undefined) upstreamBody.temperature = body.temperature;
  if (stream) upstreamBody.stream = true;
  if (body.stream_options) upstreamBody.stream_options = body.stream_options;

  const res = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: PROVIDER },
    body: JSON.stringify(upstreamBody),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return openAIError(reply, 502, 'upstream error');
  }
  if (!stream) {
    const wire = await res.body.json();
    const choice = wire.choices[0];
    return {
      id: wire.id,
      object: 'chat.completion',
      created: wire.created,
      model: wire.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: choice.message.content, refusal: null },
          logprobs: null,
          finish_reason: choice.finish_reason,
        },
      ],
      usage: {
        prompt_tokens: wire.usage.prompt_tokens,
        completion_tokens: wire.usage.completion_tokens,
        total_tokens: wire.usage.total_tokens,
      },
    };
  }
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let pending = '';
  for await (const bytes of res.body) {
    pending += bytes.toString('utf8');
    let out = '';
    let end = pending.indexOf('\n\n');
    while (end !== -1) {
      out += reencode(pending.slice(0, end));
      pending = pending.slice(end + 2);
      end = pending.indexOf('\n\n');
    }
    if (out !== '' && !reply.raw.write(out)) await new Promise((r) => reply.raw.once('drain', r));
  }
  reply.raw.end();
});

/** One SSE event (`data: {chunk}` or `data: [DONE]`) parsed and written anew. */
function reencode(event) {
  const data = event.startsWith('data: ') ? event.slice(6) : '';
  if (data === '[DONE]') return 'data: [DONE]\n\n';
  if (data === '') return '';
  const wire = JSON.parse(data);
  const chunk = {
    id: wire.id,
    object: 'chat.completion.chunk',
    created: wire.created,
    model: wire.model,
    choices: wire.choices.map((c) => ({
      index: c.index,
      delta: c.delta,
      logprobs: null,
      finish_reason: c.finish_reason ?? null,
    })),
  };
  if (wire.usage) chunk.usage = wire.usage;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

const address = await app.listen({ port: Number(values.port), host: '127.0.0.1', backlog: 8192 });
const port = Number(new URL(address).port);
process.stdout.write(`${JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}`, port })}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close(() => process.exit(0)));
