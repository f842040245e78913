import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { sql } from 'kysely';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../core/test/support/upstream-server.js';
import { saveAllowList } from '../src/egress/allow-list-store.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/store/testing/backends.js';
import { createKeyring } from '../src/vault/keyring.js';
import { type LedgerTenant, seedLedgerTenant } from './support/ledger-store.js';
import { openAIWire } from './support/metered-upstream.js';

/*
 * The durability promise, end to end: `keyhold serve` (from source, on the real PostgreSQL with a
 * throwaway database, its journal in a temporary KEYHOLD_LEDGER_DIR) under concurrent load from
 * the official OpenAI client — non-streamed, streamed with usage, streamed without usage (counted
 * by the tokenizer) — is killed with SIGKILL mid-load and restarted on the same database and
 * journal. Every request that completed at the client then has exactly one `ok` event, no
 * request has two, and the token counts are exactly what the upstream returned (or, for streams
 * without usage, what the tokenizer counts for the text the upstream sent).
 *
 * First, a sharper case: the first stream without usage of a fresh process (the tokenizer still
 * to be loaded), killed the instant the client has read `[DONE]`.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const MODEL = 'openai/gpt-4o-mini';
const USAGE = { prompt: 17, completion: 23 };
const PIECES = ['Alpha', ' beta', ' gamma', ' delta', ' epsilon', ' zeta'];
const NO_USAGE_PROMPT = 'nousage: count the Greek letters';
const ESTIMATED = { input: countTokens(NO_USAGE_PROMPT) + 4, output: countTokens(PIECES.join('')) };

type Kind = 'plain' | 'stream' | 'nousage';
type Served = { child: ChildProcess; url: string; output: () => string };

const describeOnServer = BACKENDS.includes('postgres') ? describe : describe.skip;

describeOnServer('kill -9 under load: every completed request has exactly one event', () => {
  let database: TestDatabase;
  let upstream: Upstream;
  let tenant: LedgerTenant;
  let ledgerDir: string;
  let env: Record<string, string>;
  const children = new Set<ChildProcess>();
  /** The process the first case restarted, which the load then runs against. */
  let running: Served | undefined;

  beforeAll(async () => {
    const withUsage = openAIWire({ usage: USAGE, pieces: PIECES, delayMs: 10, chunkDelayMs: 3 });
    const withoutUsage = openAIWire({ usage: USAGE, pieces: PIECES, chunkDelayMs: 3, streamUsage: false });
    upstream = await startUpstream((r, res) =>
      JSON.stringify(r.body?.messages ?? '').includes('nousage') ? withoutUsage(r, res) : withUsage(r, res),
    );
    database = await openTestDatabase('postgres');
    const key = randomBytes(32);
    tenant = await seedLedgerTenant(database.db, upstream.url, createKeyring([{ version: 1, key }]));
    // The upstream is a local plain-http server: the operator allow-lists it for the egress guard.
    await saveAllowList(database.db, ['127.0.0.1']);
    ledgerDir = await mkdtemp(join(tmpdir(), 'keyhold-ledger-kill-'));
    env = {
      ...(process.env as Record<string, string>),
      DATABASE_URL: database.url!,
      KEYHOLD_MASTER_KEYS: `1:${key.toString('base64')}`,
      KEYHOLD_LEDGER_DIR: ledgerDir,
      KEYHOLD_LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await upstream?.close();
    await database?.close();
    if (ledgerDir) await rm(ledgerDir, { recursive: true, force: true });
  });

  /** Starts `keyhold serve` on an ephemeral port; resolves once it listens (after its replay). */
  function startServe(): Promise<Served> {
    const child = spawn(
      process.execPath,
      ['--conditions=@keyhold/source', '--import', 'tsx', main, 'serve', '--port', '0'],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
    let output = '';
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`keyhold serve did not start:\n${output}`)), 30_000);
      const check = setInterval(() => {
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (!match) return;
        clearInterval(check);
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output });
      }, 10);
      child.once('exit', (code) => {
        clearInterval(check);
        clearTimeout(timer);
        reject(new Error(`keyhold serve exited with ${code}:\n${output}`));
      });
    });
  }

  function killHard(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async function okEventsByRequest(): Promise<Map<string, number>> {
    const { rows } = await sql<{ requestId: string; ok: string }>`
      select request_id, count(*) filter (where status = 'ok')::text as ok
      from usage_events group by request_id`.execute(database.db);
    return new Map(rows.map((r) => [r.requestId, Number(r.ok)]));
  }

  it('the first counted stream of a fresh process, killed at [DONE], is in the ledger after restart', async () => {
    const first = await startServe();
    const response = await fetch(`${first.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        stream: true,
        messages: [{ role: 'user', content: NO_USAGE_PROMPT }],
      }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id')!;
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('data: [DONE]')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    expect(text).toContain('data: [DONE]');
    await killHard(first.child);
    await reader.cancel().catch(() => undefined);

    const second = await startServe();
    // The event reached the database through the journal replay, before the restart listened.
    expect(second.output()).toMatch(/usage journal replayed into the ledger/);
    const row = await database.db
      .selectFrom('usageEvents')
      .selectAll()
      .where('requestId', '=', requestId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      status: 'ok',
      estimated: true,
      inputTokens: String(ESTIMATED.input),
      outputTokens: String(ESTIMATED.output),
      tenantId: tenant.tenantId,
      credentialId: tenant.credentialId,
    });
    running = second;
  });

  it('killed mid-load and restarted: exactly one ok event per completed request, tokens exact', async () => {
    const served = running ?? (await startServe());
    const client = new OpenAI({
      baseURL: `${served.url}/v1`,
      apiKey: tenant.key,
      maxRetries: 0,
      timeout: 10_000,
    });
    const completed = new Map<string, Kind>();
    let stop = false;
    let failures = 0;

    async function one(kind: Kind): Promise<void> {
      if (kind === 'plain') {
        const { response } = await client.chat.completions
          .create({ model: MODEL, messages: [{ role: 'user', content: 'Count' }] })
          .withResponse();
        completed.set(response.headers.get('x-request-id')!, kind);
        return;
      }
      const { data, response } = await client.chat.completions
        .create({
          model: MODEL,
          stream: true,
          messages: [{ role: 'user', content: kind === 'nousage' ? NO_USAGE_PROMPT : 'Count' }],
          ...(kind === 'stream' ? { stream_options: { include_usage: true } } : {}),
        })
        .withResponse();
      for await (const _ of data) {
        // to the end of the stream
      }
      completed.set(response.headers.get('x-request-id')!, kind);
    }

    const kinds: Kind[] = ['plain', 'stream', 'nousage'];
    const workers = Array.from({ length: 12 }, async (_, w) => {
      for (let i = w; !stop; i++) {
        await one(kinds[i % 3]!).catch(() => {
          failures++;
        });
      }
    });
    // Killed once enough requests completed (a loaded machine may need a while to warm up).
    const deadline = Date.now() + 15_000;
    while (completed.size < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const completedBeforeKill = completed.size;
    await killHard(served.child);
    stop = true;
    await Promise.all(workers);
    expect(completedBeforeKill).toBeGreaterThanOrEqual(60);
    expect(failures).toBeGreaterThan(0);

    const restarted = await startServe();
    const replayed = /"replayed":(\d+)/.exec(restarted.output())?.[1];
    console.info(
      `kill -9 acceptance: ${completed.size} completed at the client, ${failures} cut by the kill, ${replayed ?? 0} events replayed from the journal`,
    );

    const ok = await okEventsByRequest();
    for (const [requestId, kind] of completed) {
      expect(ok.get(requestId), `${kind} request ${requestId}`).toBe(1);
    }
    // No request was recorded as succeeding twice (nor as anything twice: the primary key).
    expect([...ok.values()].every((n) => n <= 1)).toBe(true);

    const { rows } = await sql<{
      requestId: string;
      inputTokens: string;
      outputTokens: string;
      estimated: boolean;
    }>`
      select request_id, input_tokens::text, output_tokens::text, estimated
      from usage_events where status = 'ok'`.execute(database.db);
    const byId = new Map(rows.map((r) => [r.requestId, r]));
    let input = 0;
    let output = 0;
    let expectedInput = 0;
    let expectedOutput = 0;
    for (const [requestId, kind] of completed) {
      const row = byId.get(requestId)!;
      input += Number(row.inputTokens);
      output += Number(row.outputTokens);
      expectedInput += kind === 'nousage' ? ESTIMATED.input : USAGE.prompt;
      expectedOutput += kind === 'nousage' ? ESTIMATED.output : USAGE.completion;
      expect(row.estimated).toBe(kind === 'nousage');
    }
    expect({ input, output }).toEqual({ input: expectedInput, output: expectedOutput });

    // The rollup matches the events exactly after the replay.
    const { rows: sums } = await sql<Record<string, string>>`
      select
        (select sum(requests)::text from usage_daily) as rollup_requests,
        (select count(*)::text from usage_events) as events,
        (select sum(input_tokens + output_tokens)::text from usage_daily) as rollup_tokens,
        (select sum(input_tokens + output_tokens)::text from usage_events) as event_tokens`.execute(
      database.db,
    );
    expect(sums[0]!.rollupRequests).toBe(sums[0]!.events);
    expect(sums[0]!.rollupTokens).toBe(sums[0]!.eventTokens);
    // Every journal file was stored and deleted by the replay.
    expect((await readdir(ledgerDir)).filter((f) => f.startsWith('usage-'))).toEqual([]);
    await killHard(restarted.child);
  }, 60_000);
});
