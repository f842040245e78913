/**
 * The gateway's request path, stage by stage, in one process and without sockets: what each
 * stage a chat request passes through costs in CPU, warm, measured the way the server runs it.
 *
 *   npm run bench:request-path -- [--requests 20000] [--rounds 5] [--postgres] [--opened-ttl-ms MS]
 *                                 [--stages REGEX] [--history-kb KB]
 *
 * The chat request is the gateway benchmark's (a system and a user message, ~200 bytes);
 * `--history-kb KB` puts about KB kilobytes of earlier turns before the user message.
 *
 * The store is in-memory PGlite by default (`--postgres`: a throwaway database on
 * KEYHOLD_BENCH_DATABASE_URL, else KEYHOLD_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres).
 * One tenant is created through the admin API with a vault-sealed credential, rate limits
 * (tenant and per key), budgets and a virtual key, exactly as the gateway benchmark does, and the
 * model is priced as there (`BENCH_PRICE`), so that every call reserves and settles the budgets. Then,
 * for each stage, `--requests` calls are timed (process CPU time ÷ calls, median of `--rounds`):
 *
 * - authenticate: the virtual key → caller (checksum, hash, directory cache);
 * - prepare: model route, key chain and vault decryption (the store directory reuses an opened
 *   credential for 10 s by default; `--opened-ttl-ms 0` decrypts on every call, as before);
 * - admit + settle: rate limits and budgets;
 * - call upstream: core's engine and adapter over a transport that answers at once (no socket);
 * - record usage: the usage event into the durable ledger (journal + batched inserts);
 * - stream relay: a streamed call (the gateway benchmark mock's 20-chunk stream, in one body
 *   chunk) through core's SSE parser and OpenAI reader, metering and the ledger, each event
 *   encoded again as an OpenAI chunk — the per-event work of a stream, without the socket;
 * - whole request: the gateway server's own request handler (its `/v1` router) driven by
 *   light-my-request (no socket) with that transport — everything the server does per request
 *   except the network;
 * - the two baselines for it, a fixed chat completion injected the same way: into a plain
 *   Fastify app (what injection itself and Fastify cost), and into a route added to the gateway's
 *   Fastify app behind the same handler (the router's miss, Fastify's hooks, parser, request ids,
 *   headers and access log). Whole request − plain Fastify ≈ the chat request's own work and the
 *   `/v1` router's.
 *
 * This is a profiling aid, not a target: the figures to quote are `bench/gateway-compare.mjs`'s.
 * `--cpu-prof file` writes a CPU profile of the whole-request stage (`--cpu-prof-stage stream`:
 * of the stage whose name starts so); `--heap-prof file` writes a sampled allocation profile of the
 * same stage, objects already collected included (where the garbage comes from). V8's profiler
 * samples wall-clock time: a syscall during
 * which another thread or process took the CPU is charged to it (see bench/README.md, Profiling).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Transport, TransportRequest, TransportResponse } from '@keyhold/core';
import Fastify from 'fastify';
import { type DispatchFunc, inject } from 'light-my-request';
import pg from 'pg';
import { createAdminApi } from '../packages/gateway/src/admin/index.js';
import { authenticate } from '../packages/gateway/src/auth/authenticate.js';
import { createGateway } from '../packages/gateway/src/create-gateway.js';
import { createSsrfPolicy } from '../packages/gateway/src/egress/index.js';
import { createLogger } from '../packages/gateway/src/http/logger.js';
import { createLimits } from '../packages/gateway/src/limits/create-limits.js';
import { createRequestGuard } from '../packages/gateway/src/limits/request-guard.js';
import { openUsageLedger } from '../packages/gateway/src/metering/ledger/usage-ledger.js';
import { createPriceTable } from '../packages/gateway/src/metering/price-table.js';
import { createDirectoryCache } from '../packages/gateway/src/routing/directory-cache.js';
import { createProviderCaller } from '../packages/gateway/src/routing/provider-caller.js';
import { createDatabase } from '../packages/gateway/src/store/database.js';
import { migrateToLatest } from '../packages/gateway/src/store/migrate.js';
import { createStoreDirectory } from '../packages/gateway/src/store/store-directory.js';
import { createChatChunkEncoder } from '../packages/gateway/src/surfaces/openai/chat-chunk-encoder.js';
import { checkKeyring } from '../packages/gateway/src/vault/key-check.js';
import { createKeyring } from '../packages/gateway/src/vault/keyring.js';
import { createVault } from '../packages/gateway/src/vault/vault.js';
import { BENCH_PRICE, benchTenant } from './bench-support.mjs';
import { chatCompletion, chatStreamEvents, conversationHistory } from './chat-wire.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    postgres: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'cpu-prof-stage': { type: 'string', default: 'whole' },
    'heap-prof': { type: 'string' },
    'opened-ttl-ms': { type: 'string' },
    stages: { type: 'string' },
    'history-kb': { type: 'string', default: '0' },
  },
});
/** `--stages REGEX`: only the stages whose name matches. */
const only = values.stages ? new RegExp(values.stages) : undefined;
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const POSTGRES_URL =
  process.env.KEYHOLD_BENCH_DATABASE_URL ??
  (values.postgres
    ? (process.env.KEYHOLD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
    : undefined);

/**
 * A transport that answers every chat call at once with a fixed OpenAI completion or stream. The
 * answers are built once per model: the stages measure the gateway, not a mock.
 */
function instantTransport(): Transport {
  // The documents bench/gateway-mock-upstream.mjs sends (20 words; a stream in one body chunk).
  const wire = { id: 'chatcmpl-bench', created: 1_700_000_000, chunks: 20 };
  const answers = new Map<string, { text: string; bytes: Buffer }>();
  const answerFor = (model: string, stream: boolean) => {
    const key = `${stream}:${model}`;
    let answer = answers.get(key);
    if (!answer) {
      const text = stream
        ? chatStreamEvents({ ...wire, model, includeUsage: true }).join('')
        : chatCompletion({ ...wire, model });
      answer = { text, bytes: Buffer.from(text) };
      answers.set(key, answer);
    }
    return answer;
  };
  return {
    async request(req: TransportRequest): Promise<TransportResponse> {
      const sent = JSON.parse(String(req.body)) as { model: string; stream?: boolean };
      const { text, bytes } = answerFor(sent.model, sent.stream === true);
      return {
        status: 200,
        headers: { 'content-type': sent.stream ? 'text/event-stream' : 'application/json' },
        body: (async function* () {
          yield bytes;
        })(),
        text: async () => text,
        dump: async () => {},
      };
    },
  };
}

async function openDatabase() {
  if (!POSTGRES_URL) return { database: await createDatabase(), drop: async () => {} };
  const name = `keyhold_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const database = await createDatabase({ url: url.toString() });
  return { database, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

async function main() {
  const { database, drop } = await openDatabase();
  const ledgerDir = mkdtempSync(path.join(os.tmpdir(), 'keyhold-bench-ledger-'));
  const logFile = path.join(ledgerDir, 'gateway.log');
  try {
    await migrateToLatest(database.db);
    const vault = createVault({ keyring: createKeyring([{ version: 1, key: randomBytes(32) }]) });
    await checkKeyring(database.db, vault.keyring);
    const store = createStoreDirectory({
      db: database.db,
      vault,
      mode: 'shared',
      ...(values['opened-ttl-ms'] !== undefined ? { openedTtlMs: Number(values['opened-ttl-ms']) } : {}),
    });
    await store.ready;
    const ledger = await openUsageLedger({ db: database.db, dir: ledgerDir });
    const transport = instantTransport();
    const pino = await import('pino');
    const logger = createLogger({
      destination: pino.default.destination({ dest: logFile, sync: false, minLength: 4096 }),
    });
    // The bench model priced, as the gateway benchmark prices it: budgets reserve and settle.
    const prices = createPriceTable({ overrides: [BENCH_PRICE] });
    const gateway = createGateway({ directory: store, logger, transport, usage: ledger, prices });
    const operatorToken = `kh-bench-operator-${randomBytes(16).toString('hex')}`;
    await gateway.app.register(
      createAdminApi({ db: database.db, vault, operatorToken, ssrf: createSsrfPolicy(), logger }),
    );
    // The same fixed answer for both inject baselines (see the stages below).
    const fixedAnswer = () =>
      JSON.parse(chatCompletion({ id: 'chatcmpl-bench', created: 1_700_000_000, chunks: 20, model: 'm' }));
    gateway.app.post('/bench/fixed', async () => fixedAnswer());
    const plainFastify = Fastify();
    plainFastify.post('/bench/fixed', async () => fixedAnswer());
    await plainFastify.ready();
    await gateway.app.ready();
    const admin = async (method: 'POST' | 'PUT', url: string, payload: unknown, tenant?: string) => {
      const res = await gateway.app.inject({
        method,
        url,
        payload: payload as Record<string, unknown>,
        headers: {
          authorization: `Bearer ${operatorToken}`,
          ...(tenant ? { 'x-keyhold-tenant': tenant } : {}),
        },
      });
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
      return res.json();
    };
    await admin('PUT', '/api/v1/egress/allow-list', { hosts: ['127.0.0.1'] });
    const tenant = await admin(
      'POST',
      '/api/v1/tenants',
      benchTenant({
        provider: 'openai-compatible',
        apiKey: `bench-throwaway-${randomBytes(12).toString('hex')}`,
        baseURL: 'http://127.0.0.1:9/v1',
      }),
    );
    const virtualKey = (await admin('POST', '/api/v1/virtual-keys', { name: 'bench' }, tenant.id))
      .key as string;
    const model = 'openai-compatible/gpt-4o-mini';
    const messages: { role: 'system' | 'user' | 'assistant'; content: string }[] = [
      { role: 'system', content: 'You are a terse assistant.' },
      ...conversationHistory(Number(values['history-kb']) * 1024),
      { role: 'user', content: 'Write one sentence about foxes.' },
    ];

    // The stages, over their own instances of what createGateway builds (same store and ledger).
    const directory = createDirectoryCache(store);
    const limits = createLimits({});
    const guard = createRequestGuard({ limits, prices });
    const caller = createProviderCaller({
      directory,
      catalogue: { aliases: {}, list: [] },
      usage: ledger,
      prices,
      guard,
      transport,
    });
    const auth = await authenticate(directory, virtualKey);
    if (!auth.ok) throw new Error('authentication failed');
    const who = auth.caller;
    const prepared = await caller.prepare({
      requestId: 'r',
      caller: who,
      model,
      operation: 'chat',
      headerKey: undefined,
    });
    if (!prepared.ok) throw new Error(`prepare failed: ${prepared.problem.message}`);
    const input = { messages, maxTokens: 64, temperature: 0 };
    const admitted = await caller.admit(prepared.value, input);
    if (!admitted.ok) throw new Error('admission failed');
    const timing = { started: 0, upstreamMs: 0 };
    const signal = new AbortController().signal;
    let n = 0;
    const body = JSON.stringify({ model, messages, max_tokens: 64, temperature: 0 });
    const headers = { authorization: `Bearer ${virtualKey}`, 'content-type': 'application/json' };

    // The server's own handler: the `/v1` router first, Fastify for what it leaves.
    const gatewayHandler = gateway.app.server.listeners('request')[0] as DispatchFunc;
    const plainHandler = plainFastify.routing as DispatchFunc;
    /** One chat request with the bench body injected at `url`; anything but 200 throws. */
    const injected = (handler: DispatchFunc, url: string) => async () => {
      const res = await inject(handler, { method: 'POST', url, payload: body, headers });
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    };

    const stages: { name: string; run: () => Promise<unknown> | unknown }[] = [
      { name: 'authenticate', run: () => authenticate(directory, virtualKey) },
      {
        name: 'prepare (route, key chain, decrypt)',
        run: () =>
          caller.prepare({
            requestId: `r${++n}`,
            caller: who,
            model,
            operation: 'chat',
            headerKey: undefined,
          }),
      },
      {
        name: 'admit + settle (limits, budgets)',
        run: async () => {
          const a = await caller.admit(prepared.value, input);
          if (a.ok) a.value.admission.settle(32, 0);
        },
      },
      {
        name: 'call upstream + record usage',
        run: async () => {
          const a = await caller.admit(prepared.value, input);
          if (!a.ok) throw new Error('admission failed');
          await caller.generate({ ...a.value, requestId: `g${++n}` }, input, signal, timing);
        },
      },
      {
        name: 'stream relay (23 events, encoded)',
        run: async () => {
          const a = await caller.admit(prepared.value, input);
          if (!a.ok) throw new Error('admission failed');
          const encoder = createChatChunkEncoder({ id: 'chatcmpl-r', model, created: 1_700_000_000 }, true);
          let text = '';
          for await (const batch of caller.stream(
            { ...a.value, requestId: `s${++n}` },
            input,
            signal,
            timing,
          )) {
            for (const event of batch) text += encoder.encode(event);
          }
          text += encoder.end();
          if (!text.endsWith('data: [DONE]\n\n')) throw new Error('stream relay: no [DONE]');
        },
      },
      { name: 'inject: plain Fastify, fixed answer', run: injected(plainHandler, '/bench/fixed') },
      { name: 'inject: gateway server, fixed answer', run: injected(gatewayHandler, '/bench/fixed') },
      { name: 'whole request (inject)', run: injected(gatewayHandler, '/v1/chat/completions') },
    ];

    console.log(
      `request path, stage by stage — ${POSTGRES_URL ? 'PostgreSQL' : 'PGlite (in memory)'} store, ${REQUESTS} calls × ${ROUNDS} rounds, node ${process.version}`,
    );
    for (const stage of stages) {
      if (only && !only.test(stage.name)) continue;
      const perCall: number[] = [];
      const profiled = stage.name.startsWith(values['cpu-prof-stage']!);
      const cpuProfile = profiled && values['cpu-prof'];
      const heapProfile = profiled && values['heap-prof'];
      const session = cpuProfile || heapProfile ? new Session() : undefined;
      for (let round = 0; round < ROUNDS + 1; round++) {
        if (session && round === 1) {
          session.connect();
          if (cpuProfile) {
            await session.post('Profiler.enable');
            await session.post('Profiler.start');
          }
          if (heapProfile) {
            await session.post('HeapProfiler.enable');
            await session.post('HeapProfiler.startSampling', {
              samplingInterval: 4096,
              includeObjectsCollectedByMajorGC: true,
              includeObjectsCollectedByMinorGC: true,
            });
          }
        }
        const before = process.cpuUsage();
        // Eight calls in flight, like a gateway under load.
        let left = REQUESTS;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (left-- > 0) await stage.run();
          }),
        );
        const used = process.cpuUsage(before);
        // Round 0 warms the JIT and the caches.
        if (round > 0) perCall.push((used.user + used.system) / REQUESTS);
        // The ledger's backlog is written before the next round (it is time-batched: a backlog
        // would be charged to whichever round it spills into).
        while (ledger.stats().pending > 0) await ledger.flush();
      }
      if (cpuProfile) {
        const { profile: data } = await session!.post('Profiler.stop');
        writeFileSync(cpuProfile, JSON.stringify(data));
      }
      if (heapProfile) {
        const { profile: data } = await session!.post('HeapProfiler.stopSampling');
        writeFileSync(heapProfile, JSON.stringify(data));
      }
      session?.disconnect();
      perCall.sort((a, b) => a - b);
      const median = perCall[Math.floor(perCall.length / 2)]!;
      console.log(
        `  ${stage.name.padEnd(38)} ${median.toFixed(1).padStart(7)} µs/call   (rounds: ${perCall.map((x) => x.toFixed(1)).join(', ')})`,
      );
    }
    await gateway.close();
    await limits.close();
    await store.close();
  } finally {
    await database.close();
    await drop();
    rmSync(ledgerDir, { recursive: true, force: true });
  }
}

await main();
