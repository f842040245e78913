#!/usr/bin/env node
// Issue 3's own method: ../shared/bench/compare.mjs run for the floor (its bare-proxy.mjs) and for
// Keyhold back to back, on the same mock, and the two compared.
//
//   npm ci --prefix ../shared/bench && npm run build
//   node bench/shared-harness.mjs                       # 8 and 64 connections, 3 rounds of 8 s
//   node bench/shared-harness.mjs --connections 8 --rounds 1 --duration 5
//
// Keyhold runs as shipped, with everything on: a throwaway PostgreSQL database (on
// --database-url), a tenant whose `openai-compatible` key is sealed in the vault, a virtual key,
// the durable usage ledger, rate limits and budgets. It is provisioned once through the admin API;
// compare.mjs then starts it through bench/shared-harness-gateway.mjs, which points the tenant's
// credential at the mock compare.mjs just started. compare.mjs checks that every upstream request
// of a Keyhold run carried the tenant key (`--expect-upstream-key`).
//
// Each round runs compare.mjs once for the floor and once for Keyhold (the order flips every
// round), each with its own DIRECT run against the mock. Printed per mode and connection count,
// medians over rounds:
//   keyhold ÷ floor   — Keyhold RPS ÷ floor RPS of the same round: the figure issue 3 names
//                       (throughput ≥ 0.6 × the bare proxy's);
//   normalised        — (Keyhold ÷ its direct) ÷ (floor ÷ its direct): the same, corrected for the
//                       drift between the two runs;
//   CPU µs/req        — of the floor and of Keyhold (process group, from compare.mjs);
//   added TTFB/total  — unloaded p50 vs direct (compare.mjs's probe), and Keyhold − floor.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { benchModelsFile, freePort, median, provisionBenchTenant, waitUntilReady } from './bench-support.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'bench');
const COMPARE = path.join(SHARED, 'compare.mjs');
const GATEWAY_MAIN = path.join(ROOT, 'packages/gateway/dist/cli/main.js');

const { values: a } = parseArgs({
  options: {
    connections: { type: 'string', default: '8,64' },
    modes: { type: 'string', default: 'nonstream,stream' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    probe: { type: 'string', default: '200' },
    // As in gateway-compare.mjs: the same node flags for the floor and for Keyhold.
    'node-args': { type: 'string', default: '' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (a.help) {
  process.stdout.write(
    'usage: node bench/shared-harness.mjs [--connections 8,64] [--modes nonstream,stream] [--rounds 3]\n' +
      '         [--duration 8] [--warmup 2] [--probe 200] [--database-url URL]\n' +
      '         [--node-args FLAGS] (node flags of the floor and of Keyhold alike; default none)\n',
  );
  process.exit(0);
}
if (!existsSync(path.join(SHARED, 'node_modules'))) {
  process.stderr.write(
    `shared-harness: install the harness first: npm ci --prefix ${path.relative(process.cwd(), SHARED)}\n`,
  );
  process.exit(2);
}
if (!existsSync(GATEWAY_MAIN)) {
  process.stderr.write(
    'shared-harness: run `npm run build` first (the gateway runs from packages/gateway/dist)\n',
  );
  process.exit(2);
}
const CONNECTIONS = a.connections.split(',').map((c) => c.trim());
const ROUNDS = Math.max(1, Math.floor(Number(a.rounds)));

const log = (line) => process.stderr.write(`${line}\n`);

async function query(url, text, values) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** Starts Keyhold once to provision the benchmark tenant through the admin API, then stops it. */
async function provision(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [GATEWAY_MAIN, 'serve', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(url, child);
    const { tenantId, virtualKey } = await provisionBenchTenant(url, env.KEYHOLD_OPERATOR_TOKEN, {
      provider: 'openai-compatible',
      apiKey: env.tenantKey,
      // Replaced by the mock's URL when compare.mjs starts the gateway (shared-harness-gateway.mjs).
      baseURL: 'http://127.0.0.1:9/v1',
    });
    const rows = await query(env.DATABASE_URL, 'select id from credentials where tenant_id = $1', [tenantId]);
    if (rows.rowCount !== 1) throw new Error('expected one tenant credential');
    return { virtualKey, credentialId: rows.rows[0].id };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
}

/** One compare.mjs run; returns its JSON report. */
function compare(label, connections, gatewayArgs, env) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyhold-shared-'));
  const json = path.join(dir, `${label}.json`);
  const args = [
    COMPARE,
    '--label',
    label,
    '--modes',
    a.modes,
    '--connections',
    connections,
    '--duration',
    a.duration,
    '--warmup',
    a.warmup,
    '--probe',
    a.probe,
    '--rounds',
    '1',
    '--gateway-url',
    'http://127.0.0.1:{GATEWAY_PORT}',
    '--gateway-log',
    path.join(dir, `${label}.log`),
    '--json',
    json,
    ...gatewayArgs,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...env },
    });
    child.once('exit', (code) => {
      if (!existsSync(json))
        return reject(new Error(`compare.mjs (${label}) wrote no report (exit ${code})`));
      const report = JSON.parse(readFileSync(json, 'utf8'));
      if (code !== 0 || report.problems.length > 0) {
        return reject(
          new Error(`compare.mjs (${label}) failed: ${report.problems.join('; ') || `exit ${code}`}`),
        );
      }
      resolve(report);
    });
  });
}

const tenantKey = `sk-bench-${randomBytes(24).toString('hex')}`;
const dbName = `keyhold_shared_${randomBytes(6).toString('hex')}`;
await query(a['database-url'], `create database ${dbName}`);
const dbUrl = new URL(a['database-url']);
dbUrl.pathname = `/${dbName}`;
// compare.mjs's load asks for model `gpt-4o-mini`: the operator's alias sends it to the tenant's key.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'keyhold-shared-'));
const modelsFile = path.join(scratch, 'models.json');
// Priced (benchModelsFile): every request reserves and settles the tenant's budgets.
writeFileSync(
  modelsFile,
  JSON.stringify(benchModelsFile({ 'gpt-4o-mini': 'openai-compatible/gpt-4o-mini' })),
);
const env = {
  DATABASE_URL: dbUrl.toString(),
  KEYHOLD_MODELS_FILE: modelsFile,
  KEYHOLD_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
  KEYHOLD_OPERATOR_TOKEN: `kh-bench-operator-${randomBytes(16).toString('hex')}`,
  KEYHOLD_LEDGER_DIR: path.join(scratch, 'ledger'),
  KEYHOLD_LOG_LEVEL: 'info',
};
try {
  const { virtualKey, credentialId } = await provision({ ...env, tenantKey });
  const floorArgs = [
    '--gateway-cmd',
    `UPSTREAM={MOCK_URL} PORT={GATEWAY_PORT} exec node ${a['node-args']} ${path.join(SHARED, 'bare-proxy.mjs')}`,
    '--header',
    `Authorization: Bearer ${tenantKey}`,
  ];
  const keyholdArgs = [
    '--gateway-cmd',
    `exec node ${a['node-args']} ${path.join(HERE, 'shared-harness-gateway.mjs')}`,
    '--gateway-header',
    `Authorization: Bearer ${virtualKey}`,
    '--direct-header',
    `Authorization: Bearer ${tenantKey}`,
    '--expect-upstream-key',
    `Bearer ${tenantKey}`,
  ];
  const keyholdEnv = { ...env, KEYHOLD_BENCH_CREDENTIAL_ID: credentialId };
  const rows = [];
  for (const connections of CONNECTIONS) {
    const perMode = {};
    for (let round = 0; round < ROUNDS; round++) {
      const runs = {};
      for (const side of round % 2 === 0 ? ['floor', 'keyhold'] : ['keyhold', 'floor']) {
        log(`[${connections}c round ${round + 1}/${ROUNDS}] ${side}`);
        runs[side] = await compare(
          side,
          connections,
          side === 'floor' ? floorArgs : keyholdArgs,
          side === 'floor' ? {} : keyholdEnv,
        );
      }
      for (const mode of Object.keys(runs.floor.results)) {
        const f = runs.floor.results[mode].median;
        const k = runs.keyhold.results[mode].median;
        if (!perMode[mode]) perMode[mode] = [];
        perMode[mode].push({
          ratio: k.gateway_rps / f.gateway_rps,
          normalised: k.rps_ratio / f.rps_ratio,
          floorRps: f.gateway_rps,
          keyholdRps: k.gateway_rps,
          floorCpu: f.gateway_cpu_us_per_req,
          keyholdCpu: k.gateway_cpu_us_per_req,
          floorTtfb: f.added_probe_ttfb_p50_ms,
          keyholdTtfb: k.added_probe_ttfb_p50_ms,
          floorTotal: f.added_probe_total_p50_ms,
          keyholdTotal: k.added_probe_total_p50_ms,
        });
      }
    }
    for (const [mode, rs] of Object.entries(perMode)) {
      const m = (key) => median(rs.map((r) => r[key]));
      rows.push({ mode, connections, m, perRound: rs.map((r) => r.ratio.toFixed(3)) });
    }
  }
  const f3 = (x) => (x == null ? '—' : x.toFixed(3));
  const f0 = (x) => (x == null ? '—' : x.toFixed(0));
  console.log(
    `\nshared harness (../shared/bench/compare.mjs), floor = its bare-proxy.mjs, Keyhold = PostgreSQL store, everything on — ${new Date().toISOString()}, node ${process.version}, node flags of both: ${a['node-args'] || '(none: V8 defaults)'}`,
  );
  console.log(
    `${a.duration} s per run after ${a.warmup} s warmup, ${ROUNDS} round(s), order flipped each round; medians`,
  );
  console.log(
    '      mode  conns  floor rps keyhold rps  keyhold÷floor  ≥0.6  normalised  floor µs/req  keyhold µs/req  +ttfb floor/keyhold ms  +total floor/keyhold ms',
  );
  for (const { mode, connections, m, perRound } of rows) {
    const ratio = m('ratio');
    console.log(
      `${mode.padStart(10)} ${connections.padStart(6)} ${f0(m('floorRps')).padStart(10)} ${f0(m('keyholdRps')).padStart(11)} ${f3(ratio).padStart(14)} ${(ratio >= 0.6 ? 'ok' : 'MISS').padStart(5)} ${f3(m('normalised')).padStart(11)} ${f0(m('floorCpu')).padStart(13)} ${f0(m('keyholdCpu')).padStart(15)} ${`${f3(m('floorTtfb'))} / ${f3(m('keyholdTtfb'))}`.padStart(23)} ${`${f3(m('floorTotal'))} / ${f3(m('keyholdTotal'))}`.padStart(24)}   rounds [${perRound.join(', ')}]`,
    );
  }
  console.log(
    '+ttfb / +total: unloaded p50 added vs direct (compare.mjs probe); the TTFB column is the first SSE event for streams',
  );
} finally {
  await query(a['database-url'], `drop database if exists ${dbName} with (force)`).catch(() => {});
}
