#!/usr/bin/env node
// CPU per request of two gateway builds measured at the same time, under the same fixed load.
//
// ab-repeat.mjs runs the builds in turns at saturation and reads throughput; on a shared VM the
// drift between turns is ±5–10 %, larger than most code changes it is asked to judge. Here both
// builds serve at once, pinned to the same core (with the mock), each driven at the same fixed
// request rate (open loop, below saturation), so that whatever the machine does during a window
// it does to both. The figure is each process's user + system CPU (/proc) per 2xx response, and
// new ÷ old per window.
//
//   node bench/cpu-ab.mjs --old bench/zz-old-XXXX/gateway/dist/cli/main.js [--new FILE]
//     [--rate 1500] [--windows 4] [--window 30] [--warmup 15] [--mode nonstream|stream]
//     [--connections 8] [--server-cpus 0] [--mock-cpus LIST] [--loadgen-cpus 1]
//     [--old-node-args=ARGS] [--new-node-args=ARGS]   (node flags of either build, given with `=`;
//     the same build as --old and --new with different flags measures a flag)
//     [--old-env K=V,…] [--new-env K=V,…]   (environment of either build, e.g. KEYHOLD_LOG_LEVEL=warn
//     for the cost of the access log)
//
// Runs two phases, each build started first once (the second process reads a few per cent
// cheaper in an A/A, same build twice), and prints the geometric mean of the phases' medians.
// About 2 × (windows × window + warmup) seconds plus start-up.
//
// Both gateways run `keyhold serve` on their own throwaway PostgreSQL database (--database-url,
// default postgres://postgres@127.0.0.1:5432/postgres) with the benchmark tenant of
// bench-support.mjs: virtual key, vault-sealed credential, rate limits, budgets, durable ledger.
// bench/README.md says how to copy the old build.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  benchModelsFile,
  databaseQuery,
  freePort,
  median,
  processCpu,
  provisionBenchTenant,
  sleep,
  stopChild,
  waitUntilReady,
} from './bench-support.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: path.join(HERE, '..', 'packages/gateway/dist/cli/main.js') },
    rate: { type: 'string', default: '1500' },
    windows: { type: 'string', default: '4' },
    window: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '15' },
    mode: { type: 'string', default: 'nonstream' },
    connections: { type: 'string', default: '8' },
    'server-cpus': { type: 'string', default: '0' },
    'loadgen-cpus': { type: 'string', default: '1' },
    'mock-cpus': { type: 'string' },
    'old-node-args': { type: 'string', default: '' },
    'new-node-args': { type: 'string', default: '' },
    'old-env': { type: 'string', default: '' },
    'new-env': { type: 'string', default: '' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    help: { type: 'boolean', default: false },
  },
});
if (a.help || !a.old) {
  process.stderr.write(
    'usage: node bench/cpu-ab.mjs --old FILE [--new FILE] [--rate RPS] [--windows N] [--window S] [--mode nonstream|stream]\n',
  );
  process.exit(a.help ? 0 : 2);
}
for (const file of [a.old, a.new]) {
  if (!existsSync(file)) {
    process.stderr.write(`cpu-ab: ${file} not found (build it first; bench/README.md)\n`);
    process.exit(2);
  }
}
const RATE = Number(a.rate);
const WINDOWS = Number(a.windows);
const WINDOW_S = Number(a.window);
const CONNECTIONS = Number(a.connections);
const STREAM = a.mode === 'stream';
const log = (line) => process.stderr.write(`${line}\n`);

let taskset = true;
try {
  execFileSync('taskset', ['-cp', a['loadgen-cpus'], String(process.pid)], { stdio: 'ignore' });
} catch {
  taskset = false;
  log('taskset not found: running without CPU pinning');
}
const pinned = (args, cpus = a['server-cpus']) =>
  taskset ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];

const children = new Set();
const cleanups = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'keyhold-cpuab-'));

/** Starts a pinned node process; its stderr (and, unless `pipeStdout`, its stdout) to `logName`. */
function start(args, env, logName, cpus, pipeStdout = false) {
  const out = openSync(path.join(dir, logName), 'a');
  const [cmd, argv] = pinned(args, cpus);
  // A gateway logs to a file, as in gateway-compare.mjs and the shared harness: a pipe read by
  // this process would add its reader's wake-ups to what is measured.
  const child = spawn(cmd, argv, {
    stdio: ['ignore', pipeStdout ? 'pipe' : out, out],
    env: { ...process.env, ...env },
  });
  closeSync(out);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const serverQuery = (text) => databaseQuery(a['database-url'], text);

async function startMock() {
  const child = start(
    [path.join(HERE, 'gateway-mock-upstream.mjs')],
    {},
    'mock.log',
    a['mock-cpus'] ?? a['server-cpus'],
    true,
  );
  const line = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (c) => {
      buffered += c;
      const nl = buffered.indexOf('\n');
      if (nl !== -1) resolve(buffered.slice(0, nl));
    });
    child.once('exit', () => reject(new Error('the mock exited')));
  });
  return JSON.parse(line).url;
}

/** `K=V,K=V` (--old-env / --new-env) as an object. */
function envOf(list) {
  const env = {};
  for (const pair of list.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`cpu-ab: ${pair} is not K=V`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

let started = 0;

async function startGateway(main, label, mockUrl, tenantKey) {
  const own = `${label}-${++started}`;
  const operatorToken = `kh-bench-operator-${randomBytes(16).toString('hex')}`;
  const modelsFile = path.join(dir, `models-${own}.json`);
  writeFileSync(modelsFile, JSON.stringify(benchModelsFile()));
  const name = `keyhold_cpuab_${randomBytes(6).toString('hex')}`;
  await serverQuery(`create database ${name}`);
  cleanups.push(() => serverQuery(`drop database if exists ${name} with (force)`));
  const url = new URL(a['database-url']);
  url.pathname = `/${name}`;
  const port = await freePort();
  const child = start(
    [
      ...a[`${label}-node-args`].split(' ').filter(Boolean),
      main,
      'serve',
      '--port',
      String(port),
      '--data-dir',
      path.join(dir, `data-${own}`),
    ],
    {
      DATABASE_URL: url.toString(),
      KEYHOLD_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
      KEYHOLD_OPERATOR_TOKEN: operatorToken,
      KEYHOLD_LEDGER_DIR: path.join(dir, `ledger-${own}`),
      KEYHOLD_MODELS_FILE: modelsFile,
      KEYHOLD_LOG_LEVEL: 'info',
      ...envOf(a[`${label}-env`]),
    },
    `gateway-${own}.log`,
  );
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(base, child);
  const { virtualKey } = await provisionBenchTenant(base, operatorToken, {
    provider: 'openai-compatible',
    apiKey: tenantKey,
    baseURL: `${mockUrl}/v1`,
  });
  return { label, child, url: base, virtualKey };
}

function load(gateway, seconds) {
  const body = JSON.stringify({
    model: 'openai-compatible/gpt-4o-mini',
    messages: [{ role: 'user', content: 'Write one sentence about foxes.' }],
    max_tokens: 64,
    ...(STREAM ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${gateway.url}/v1/chat/completions`,
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.virtualKey}`, 'content-type': 'application/json' },
        body,
        connections: CONNECTIONS,
        overallRate: RATE,
        duration: seconds,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** Both gateways under the same load for `seconds`; CPU per 2xx response of each. */
async function window(gateways, seconds) {
  const before = gateways.map((g) => processCpu(g.child.pid).seconds);
  const results = await Promise.all(gateways.map((g) => load(g, seconds)));
  const after = gateways.map((g) => processCpu(g.child.pid).seconds);
  return gateways.map((g, i) => {
    const r = results[i];
    if (r.errors || r.non2xx) throw new Error(`${g.label}: ${r.errors} errors, ${r.non2xx} non-2xx`);
    return { ok: r['2xx'], cpuPerReqUs: ((after[i] - before[i]) / r['2xx']) * 1e6 };
  });
}

/** One phase: the two builds started in `order`, `WINDOWS` windows; new ÷ old per window. */
async function phase(order, mockUrl, tenantKey) {
  const gateways = [];
  for (const label of order)
    gateways.push(await startGateway(path.resolve(a[label]), label, mockUrl, tenantKey));
  try {
    log(`phase: ${order.join(' started first, then ')}`);
    await window(gateways, Number(a.warmup));
    const ratios = [];
    for (let w = 1; w <= WINDOWS; w++) {
      const measured = await window(gateways, WINDOW_S);
      const old = measured[order.indexOf('old')];
      const neu = measured[order.indexOf('new')];
      const ratio = neu.cpuPerReqUs / old.cpuPerReqUs;
      ratios.push(ratio);
      log(
        `  window ${w}/${WINDOWS}: old ${old.cpuPerReqUs.toFixed(1)} µs/req (${old.ok} ok), new ${neu.cpuPerReqUs.toFixed(1)} µs/req (${neu.ok} ok), new ÷ old ${ratio.toFixed(3)}`,
      );
      await sleep(200);
    }
    return ratios;
  } finally {
    for (const g of gateways) await stopChild(g.child);
  }
}

const range = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return `${median(xs).toFixed(3)} [${s[0].toFixed(3)}, ${s.at(-1).toFixed(3)}]`;
};

async function main() {
  const tenantKey = `bench-throwaway-${randomBytes(12).toString('hex')}`;
  const mockUrl = await startMock();
  log(
    `cpu-ab: ${a.mode}, ${RATE} rps each, ${CONNECTIONS} connections each, the gateways on CPU ${a['server-cpus']}, the mock on ${a['mock-cpus'] ?? a['server-cpus']}`,
  );
  // The process started second reads a few per cent cheaper in an A/A (same build twice): each
  // build takes each place once, and the geometric mean of the two phases cancels the place.
  const first = await phase(['old', 'new'], mockUrl, tenantKey);
  const second = await phase(['new', 'old'], mockUrl, tenantKey);
  const combined = Math.sqrt(median(first) * median(second));
  process.stdout.write(
    `cpu-ab ${a.mode} @ ${RATE} rps × 2, ${WINDOWS} windows of ${WINDOW_S} s per phase: CPU per request new ÷ old ${combined.toFixed(3)} (old started first: ${range(first)}; new first: ${range(second)})\n`,
  );
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await sleep(500);
  for (const child of children) child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
