#!/usr/bin/env node
// Keyhold gateway vs a bare pass-through proxy vs direct calls, measured in one run on loopback.
//
//   npm run build && node bench/gateway-compare.mjs                 # throughput suite (~3 min)
//   node bench/gateway-compare.mjs --suite rss                     # 5,000 slow streams (~2.5 min)
//   node bench/gateway-compare.mjs --suite all --json bench/results/run.json
//
// It starts bench/gateway-mock-upstream.mjs (an OpenAI-format mock), bench/bare-proxy.mjs (the
// floor: a pass-through proxy with no logic) and the built Keyhold gateway
// (packages/gateway/dist/cli/main.js serve) with a generated configuration: one tenant, a tenant
// credential for `openai` whose key comes from an environment variable, `providers.openai.baseURL`
// at the mock, and a fresh virtual key. Then:
//
// throughput suite — for non-streamed and streamed (20-chunk) chat completions, at each
//   connection count (default 8 and 64), `--rounds` times with the order of the three targets
//   flipped every round: autocannon at the mock (DIRECT), through the bare proxy (BARE) and through
//   the gateway (GATEWAY). Prints gateway RPS ÷ bare RPS (median over rounds of the same-round
//   ratios), the unloaded added latency (sequential requests on one keep-alive connection,
//   interleaved across the three targets) and added time-to-first-event for streams, and the CPU
//   time per request of the gateway and bare-proxy processes (utime+stime from /proc).
// rss suite — a mock whose streams send one event every `--chunk-delay` ms; `--streams` (5,000)
//   concurrent streams through the bare proxy, then through the gateway: resident memory of the
//   proxy process before and with every stream open, and the difference per stream.
//
// Correctness is checked while measuring; any failure prints PROBLEMS and exits 1: every response
// 2xx (no errors, no timeouts), every probe response of the right shape (a chat completion, or a
// stream with content chunks, a usage chunk and `data: [DONE]`), the mock saw at least as many
// requests as the client got answers, every upstream request carried the tenant's provider key
// and none the virtual key (compared by SHA-256: no key is ever printed), and in the rss suite
// every stream open upstream at the same time and every stream completed.
//
// CPU pinning (when `taskset` exists; --no-pin to disable): this process — the load generator —
// on --loadgen-cpus (default 1), the mock and the proxy under test on --server-cpus (default 0).
// On a 2-core machine the ratio then reads as "share of one core's throughput left once the
// proxy's per-request work is paid" for both proxies alike. With --store postgres, the server
// processes of the bench's own database go on --db-cpus (default: the load generator's): in a
// deployment PostgreSQL runs on its own machine, and here its ingest would otherwise preempt the
// gateway on the core whose throughput is being compared. See bench/README.md.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
import { conversationHistory } from './chat-wire.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const BUILT_MAIN = path.join(ROOT, 'packages/gateway/dist/cli/main.js');
const VIRTUAL_KEY_MODULE = path.join(ROOT, 'packages/gateway/dist/auth/virtual-key.js');

const USAGE = `usage: node bench/gateway-compare.mjs [options]
  --suite throughput|rss|all   what to run (default throughput)
  --duration S                 seconds per timed load run (default 4; at most 60)
  --warmup S                   seconds of untimed load before each run (default 1)
  --jit-warmup S               seconds of untimed load per target and mode before its first round
                               (default 5): every process measured runs optimised code, as a
                               long-running server does (0: measure fresh processes)
  --rounds N                   rounds per mode and connection count, order flipped each round (default 3)
  --connections LIST           connection counts (default 8,64)
  --modes LIST                 nonstream,stream (default both)
  --probe N                    sequential unloaded requests per target and mode (default 400)
  --streams N                  concurrent slow streams in the rss suite (default 5000)
  --chunk-delay MS             ms between stream events in the rss suite (default 1500)
  --stream-body events|whole   how the mock sends a fast stream (default events): one write per
                               event, so the body is chunked-encoding frames, one per event, as a
                               provider and ../shared/bench's mock send it; or the whole body in
                               one write with a content-length (the runner's mock before 2026-12-04)
  --history-kb KB              earlier conversation turns in every chat request, about KB
                               kilobytes (default 0: the ~200-byte request; real chat requests
                               carry their history, and the gateway parses and re-encodes it)
  --loadgen-cpus LIST          taskset CPUs of the load generator (default 1)
  --server-cpus LIST           taskset CPUs of the mock, the bare proxy and the gateway (default 0)
  --db-cpus LIST|any           with --store postgres on this machine: taskset CPUs of the server
                               processes of the bench's database (default: --loadgen-cpus; any =
                               wherever the scheduler puts them)
  --no-pin                     no CPU pinning
  --log-level LEVEL            the gateway's KEYHOLD_LOG_LEVEL (default info, as shipped)
  --store embedded|postgres|config
                               where tenants, keys and usage live (default embedded): the embedded
                               PGlite store, or PostgreSQL (a throwaway database on --database-url),
                               both with key resolution from the vault, the durable usage ledger,
                               rate limits and budgets on; or a config file (no store, no ledger)
  --database-url URL           server for --store postgres (default postgres://postgres@127.0.0.1:5432/test)
  --redis URL                  keep rate limits and budgets in this Redis (default: in memory)
  --cpu-prof DIR               run the gateway under node --cpu-prof, profiles written to DIR
  --node-args ARGS             node flags of every proxy under test — the bare proxy, the gateway
                               and the minimal gateway alike, never the mock (default none),
                               e.g. '--max-semi-space-size=64'
  --gateway-node-args ARGS     further node flags for the gateway process only, space-separated
  --gateway-b-node-args ARGS   also measure a second gateway ("gateway B": the same build on its
                               own store) with these further node flags, in the same rounds:
                               gateway ÷ gateway B compares the flags without the drift between
                               separate runs ('' measures two identical processes, an A/A)
  --gateway-b-main FILE        gateway B runs this build's cli/main.js instead (e.g. a copy of
                               packages/gateway/dist made before a change, with its node_modules
                               resolvable from there): an A/B of two builds in the same rounds
  --gateway-main FILE          the gateway itself runs this build's cli/main.js (default
                               packages/gateway/dist; bench/ab-repeat.mjs swaps the two builds)
  --gc                         run every proxy with --trace-gc and print its garbage-collection
                               pause time per request (main-thread pauses, from V8's own trace)
  --minimal                    also measure bench/minimal-gateway.mjs (a translating gateway with
                               none of Keyhold's features) in the same rounds: gateway ÷ minimal
                               is what Keyhold's own work costs beyond what any such gateway pays
  --json FILE                  also write every figure as JSON
  --strict                     exit 3 when a performance target is missed
Run \`npm run build\` first: the gateway is run from packages/gateway/dist.`;

const { values: a } = parseArgs({
  options: {
    suite: { type: 'string', default: 'throughput' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    'jit-warmup': { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8,64' },
    modes: { type: 'string', default: 'nonstream,stream' },
    probe: { type: 'string', default: '400' },
    streams: { type: 'string', default: '5000' },
    'chunk-delay': { type: 'string', default: '1500' },
    'stream-body': { type: 'string', default: 'events' },
    'history-kb': { type: 'string', default: '0' },
    'loadgen-cpus': { type: 'string', default: '1' },
    'server-cpus': { type: 'string', default: '0' },
    'db-cpus': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    store: { type: 'string', default: 'embedded' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    redis: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'node-args': { type: 'string', default: '' },
    'gateway-node-args': { type: 'string' },
    'gateway-b-node-args': { type: 'string' },
    'gateway-b-main': { type: 'string' },
    'gateway-main': { type: 'string' },
    gc: { type: 'boolean', default: false },
    json: { type: 'string' },
    minimal: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (a.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

if (!['embedded', 'postgres', 'config'].includes(a.store)) usageError(`unknown --store ${a.store}`);
const SUITES = a.suite === 'all' ? ['throughput', 'rss'] : [a.suite];
const DURATION = Number(a.duration);
const WARMUP = Number(a.warmup);
const JIT_WARMUP = Number(a['jit-warmup']);
const ROUNDS = Math.max(1, Math.floor(Number(a.rounds)));
const CONNECTIONS = a.connections.split(',').map(Number);
const MODES = a.modes.split(',').map((m) => m.trim());
const PROBE = Math.max(10, Math.floor(Number(a.probe)));
const STREAMS = Math.max(1, Math.floor(Number(a.streams)));
const CHUNK_DELAY = Number(a['chunk-delay']);
const STREAM_BODY = a['stream-body'];
const HISTORY_KB = Number(a['history-kb']);
const STREAM_CHUNKS = 20;
const TARGETS = { nonstreamRatio: 0.6, addedMs: 0.5, addedTtfbMs: 0.5 };
/** Space-separated node flags as an argument list. */
const nodeFlags = (text) => (text ?? '').split(/\s+/).filter(Boolean);
// The same V8 flags for every proxy measured, so that a flag never favours one side.
const PROXY_NODE_ARGS = [...nodeFlags(a['node-args']), ...(a.gc ? ['--trace-gc'] : [])];
const GATEWAY_NODE_ARGS = [...PROXY_NODE_ARGS, ...nodeFlags(a['gateway-node-args'])];
const GATEWAY_MAIN = a['gateway-main'] ? path.resolve(a['gateway-main']) : BUILT_MAIN;
const GATEWAY_B = a['gateway-b-node-args'] !== undefined || a['gateway-b-main'] !== undefined;
const GATEWAY_B_MAIN = a['gateway-b-main'] ? path.resolve(a['gateway-b-main']) : GATEWAY_MAIN;
const GATEWAY_B_LABEL = 'throughput-b';
/** Gateway B's flags come on top of the gateway's own (and it may run another build). */
const gatewayNodeArgs = (label) =>
  label === GATEWAY_B_LABEL
    ? [...GATEWAY_NODE_ARGS, ...nodeFlags(a['gateway-b-node-args'])]
    : [...GATEWAY_NODE_ARGS];

function usageError(message) {
  process.stderr.write(`gateway-compare: ${message}\n${USAGE}\n`);
  process.exit(2);
}
if (!SUITES.every((s) => s === 'throughput' || s === 'rss')) usageError(`unknown --suite ${a.suite}`);
if (!(DURATION > 0 && DURATION <= 60)) usageError('--duration must be in (0, 60] seconds');
if (!(WARMUP >= 0 && WARMUP <= 30)) usageError('--warmup must be in [0, 30] seconds');
if (!(JIT_WARMUP >= 0 && JIT_WARMUP <= 60)) usageError('--jit-warmup must be in [0, 60] seconds');
if (!CONNECTIONS.every((c) => Number.isInteger(c) && c > 0 && c <= 1024)) usageError('bad --connections');
if (!MODES.every((m) => m === 'nonstream' || m === 'stream')) usageError('--modes: nonstream,stream');
if (STREAM_BODY !== 'events' && STREAM_BODY !== 'whole') usageError('--stream-body: events or whole');
if (!(HISTORY_KB >= 0 && HISTORY_KB <= 1024)) usageError('--history-kb: 0 to 1024');
const HISTORY = conversationHistory(HISTORY_KB * 1024);
if (!(CHUNK_DELAY >= 50 && CHUNK_DELAY <= 5000)) usageError('--chunk-delay must be in [50, 5000] ms');
if (STREAMS > 10_000) usageError('--streams is at most 10000');
if (!existsSync(GATEWAY_MAIN) || !existsSync(VIRTUAL_KEY_MODULE)) {
  process.stderr.write(`gateway-compare: ${GATEWAY_MAIN} not found: run \`npm run build\` first\n`);
  process.exit(2);
}
if (!existsSync(GATEWAY_B_MAIN)) usageError(`--gateway-b-main: ${GATEWAY_B_MAIN} not found`);

// ---------------------------------------------------------------------------------------------
// Processes, pinning, /proc

const children = new Set();
const problems = [];
const log = (line) => process.stderr.write(`${line}\n`);

const TASKSET = (() => {
  if (a['no-pin']) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    log('taskset not found: running without CPU pinning');
    return false;
  }
})();
if (TASKSET && a['loadgen-cpus']) {
  // Every thread of this process (autocannon runs here), not only the main one.
  execFileSync('taskset', ['-a', '-cp', a['loadgen-cpus'], String(process.pid)], { stdio: 'ignore' });
}
const DB_CPUS = a['db-cpus'] ?? a['loadgen-cpus'];
// Only a server on this machine can be pinned; a remote one is reported as `any`.
const PIN_DB =
  TASKSET && a.store === 'postgres' && Boolean(DB_CPUS) && DB_CPUS !== 'any' && isLocalHost(databaseHost());
const pinning = TASKSET
  ? {
      loadgen: a['loadgen-cpus'] || 'any',
      servers: a['server-cpus'] || 'any',
      ...(a.store === 'postgres' ? { database: PIN_DB ? DB_CPUS : 'any' } : {}),
    }
  : 'none';

/** Per 2xx response between two `processCpu` readings: user and system µs, main-thread switches. */
function cpuDetail(before, after, ok) {
  return {
    userUs: ((after.user - before.user) * 1e6) / ok,
    systemUs: ((after.system - before.system) * 1e6) / ok,
    involuntarySwitches: (after.involuntarySwitches - before.involuntarySwitches) / ok,
    voluntarySwitches: (after.voluntarySwitches - before.voluntarySwitches) / ok,
  };
}

/** Resident set size of one process in bytes. */
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/**
 * `--trace-gc` lines: `[pid:0x…]  1234 ms: Scavenge 117.1 (138.6) -> 106.5 (139.6) MB, 6.33 / 0.00 ms …`,
 * matched anywhere in a line: V8 prints them through its own stdout buffer, which can land inside
 * a log line the gateway is writing at the time.
 */
const GC_LINE =
  /\[\d+:0x[0-9a-f]+\]\s+\d+ ms: [A-Za-z -]+(?:\([^)]*\))? [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, ([\d.]+) \//;
/** Main-thread GC pause milliseconds so far, by process id (only with --gc). */
const gcPauseMs = new Map();

/** Returns a feeder of a process's output that adds up its `--trace-gc` pauses (partial lines kept). */
function gcMeter(pid) {
  gcPauseMs.set(pid, 0);
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      const m = GC_LINE.exec(line);
      if (m) gcPauseMs.set(pid, gcPauseMs.get(pid) + Number(m[1]));
    }
  };
}

/** Spawns a server pinned to the server CPUs; resolves once it printed its listening line. */
function startListening(name, scriptArgs, { nodeArgs = [], ...options } = {}) {
  const args = [...nodeArgs, ...scriptArgs];
  const cmd =
    TASKSET && a['server-cpus']
      ? ['taskset', ['-c', a['server-cpus'], process.execPath, ...args]]
      : [process.execPath, args];
  const child = spawn(cmd[0], cmd[1], { stdio: ['ignore', 'pipe', 'inherit'], ...options });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 15 s`)), 15_000);
    const feedGc = a.gc ? gcMeter(child.pid) : null;
    child.stdout.on('data', (c) => {
      buf += c;
      let nl = buf.indexOf('\n');
      // With --gc, GC trace lines may come before the listening line.
      while (nl !== -1 && GC_LINE.test(buf.slice(0, nl))) {
        feedGc?.(buf.slice(0, nl + 1));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      if (nl === -1) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      if (feedGc) {
        feedGc(buf.slice(nl + 1));
        child.stdout.on('data', feedGc);
      } else child.stdout.resume();
      try {
        resolve({ child, pid: child.pid, ...JSON.parse(buf.slice(0, nl)) });
      } catch {
        reject(new Error(`${name}: unexpected first line of output`));
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited early (code ${code})`)));
  });
}

function startMock(extraArgs = []) {
  return startListening('mock upstream', [
    path.join(HERE, 'gateway-mock-upstream.mjs'),
    '--chunks',
    String(STREAM_CHUNKS),
    '--stream-body',
    STREAM_BODY,
    ...extraArgs,
  ]);
}

function startBareProxy(mockUrl) {
  return startListening('bare proxy', [path.join(HERE, 'bare-proxy.mjs'), '--upstream', mockUrl], {
    nodeArgs: PROXY_NODE_ARGS,
  });
}

/** bench/minimal-gateway.mjs in front of the mock: its own client key, the tenant key upstream. */
async function startMinimalGateway(mockUrl, keys) {
  const clientKey = `mg-${randomBytes(16).toString('hex')}`;
  const started = await startListening(
    'minimal gateway',
    [
      path.join(HERE, 'minimal-gateway.mjs'),
      '--upstream',
      mockUrl,
      '--client-key',
      clientKey,
      '--provider-key',
      keys.tenant,
    ],
    { nodeArgs: PROXY_NODE_ARGS },
  );
  return { ...started, clientKey };
}

/**
 * Writes a gateway configuration for `mockUrl` into a fresh temp directory and starts the built
 * gateway on it. The tenant's provider key reaches the gateway only through its environment.
 */
async function startGateway(mockUrl, keys, label) {
  return a.store === 'config'
    ? startConfigGateway(mockUrl, keys, label)
    : startStoreGateway(mockUrl, keys, label);
}

/**
 * The gateway as a platform runs it: `keyhold serve` on a store (embedded PGlite, or a throwaway
 * PostgreSQL database), the tenant, its encrypted credential, limits, budget and virtual key
 * created through the admin API, usage written to the durable ledger. The limits and the budget
 * are far above what the run can reach: they are checked and charged on every request, never hit.
 */
async function startStoreGateway(mockUrl, keys, label) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyhold-bench-'));
  const operatorToken = `kh-bench-operator-${randomBytes(16).toString('hex')}`;
  // The model priced (benchModelsFile): every request reserves and settles the budgets.
  const modelsFile = path.join(dir, 'models.json');
  writeFileSync(modelsFile, JSON.stringify(benchModelsFile()));
  const env = {
    KEYHOLD_OPERATOR_TOKEN: operatorToken,
    KEYHOLD_LEDGER_DIR: path.join(dir, 'ledger'),
    KEYHOLD_MODELS_FILE: modelsFile,
  };
  let dropDatabase = async () => {};
  let pinStore;
  if (a.store === 'postgres') {
    const name = `keyhold_bench_${randomBytes(6).toString('hex')}`;
    await serverQuery(`create database ${name}`);
    const url = new URL(a['database-url']);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    // A throwaway master key for the throwaway database (`version:base64`, see README).
    env.KEYHOLD_MASTER_KEYS = `1:${randomBytes(32).toString('base64')}`;
    dropDatabase = () => serverQuery(`drop database if exists ${name} with (force)`);
    if (PIN_DB) pinStore = () => pinDatabaseBackends(name);
  }
  if (a.redis) env.REDIS_URL = a.redis;
  const started = await spawnGateway(['--data-dir', path.join(dir, 'data')], env, dir, label);
  const { tenantId, virtualKey: key } = await provisionBenchTenant(started.url, operatorToken, {
    provider: 'openai-compatible',
    apiKey: keys.tenant,
    baseURL: `${mockUrl}/v1`,
  });
  log(`gateway store: ${a.store}${a.redis ? ', limits in Redis' : ', limits in memory'}, tenant ${tenantId}`);
  const stopOwn = started.stop;
  return {
    ...started,
    virtualKey: key,
    model: 'openai-compatible/gpt-4o-mini',
    pinStore,
    stop: async () => {
      await stopOwn();
      await dropDatabase();
    },
  };
}

function databaseHost() {
  try {
    return new URL(a['database-url']).hostname;
  } catch {
    usageError('--database-url is not a URL');
  }
}

function isLocalHost(hostname) {
  return ['', 'localhost', '127.0.0.1', '[::1]'].includes(hostname);
}

let pinWarned = false;

/**
 * Puts the PostgreSQL server processes serving database `name` (the gateway's pool, its change
 * listener) on --db-cpus. Called before every load run: a pool may open connections under load.
 */
async function pinDatabaseBackends(name) {
  const rows = await serverQuery('select pid from pg_stat_activity where datname = $1', [name]);
  for (const { pid } of rows) {
    try {
      execFileSync('taskset', ['-a', '-cp', DB_CPUS, String(pid)], { stdio: 'ignore' });
    } catch {
      // Another user's server (EPERM) or a connection that just closed: measured unpinned.
      if (!pinWarned) log(`could not pin PostgreSQL process ${pid} to CPUs ${DB_CPUS}: left where it runs`);
      pinWarned = true;
    }
  }
}

/** One statement on --database-url (the server's own database, not the bench's); its rows. */
function serverQuery(text, values) {
  return databaseQuery(a['database-url'], text, values);
}

async function startConfigGateway(mockUrl, keys, label) {
  const { generateVirtualKey } = await import(pathToFileURL(VIRTUAL_KEY_MODULE).href);
  const vk = generateVirtualKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyhold-bench-'));
  const configPath = path.join(dir, 'keyhold.json');
  const config = {
    mode: 'dedicated',
    models: { aliases: { 'gpt-4o-mini': 'openai/gpt-4o-mini' }, list: ['openai/gpt-4o-mini'] },
    providers: { openai: { baseURL: `${mockUrl}/v1` } },
    tenants: [
      {
        id: 'bench',
        name: 'Benchmark tenant',
        credentials: [
          {
            id: 'bench-openai',
            owner: { kind: 'tenant' },
            provider: 'openai',
            secrets: { apiKey: { env: 'KEYHOLD_BENCH_OPENAI_KEY' } },
          },
        ],
        virtualKeys: [{ id: 'bench-vk', hash: vk.hash, prefix: vk.prefix, hint: vk.hint }],
      },
    ],
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const started = await spawnGateway(
    ['--config', configPath],
    { KEYHOLD_BENCH_OPENAI_KEY: keys.tenant },
    dir,
    label,
  );
  return { ...started, virtualKey: vk.key, model: 'gpt-4o-mini' };
}

/** Starts `keyhold serve` (pinned like the other servers) and waits until `/readyz` answers. */
async function spawnGateway(serveArgs, env, dir, label) {
  const port = await freePort();
  const logPath = path.join(dir, `gateway-${label}.log`);
  const out = openSync(logPath, 'a');
  const nodeArgs = gatewayNodeArgs(label);
  if (a['cpu-prof']) {
    mkdirSync(a['cpu-prof'], { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(a['cpu-prof'])}`);
  }
  const main = label === GATEWAY_B_LABEL ? GATEWAY_B_MAIN : GATEWAY_MAIN;
  const args = [...nodeArgs, main, 'serve', ...serveArgs, '--port', String(port)];
  const cmd =
    TASKSET && a['server-cpus']
      ? ['taskset', ['-c', a['server-cpus'], process.execPath, ...args]]
      : [process.execPath, args];
  const child = spawn(cmd[0], cmd[1], {
    // With --gc its stdout (logs and GC trace) is read here on its way to the log file.
    stdio: ['ignore', a.gc ? 'pipe' : out, out],
    env: { ...process.env, ...env, KEYHOLD_LOG_LEVEL: a['log-level'] },
  });
  if (a.gc) {
    const feedGc = gcMeter(child.pid);
    const file = createWriteStream(logPath, { flags: 'a' });
    child.stdout.on('data', (c) => {
      file.write(c);
      feedGc(c);
    });
  }
  closeSync(out);
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(url, child).catch((error) => {
    throw new Error(`${error.message}; see ${logPath}`);
  });
  log(`gateway: pid ${child.pid} at ${url} (files in ${dir}, log ${logPath})`);
  return { child, pid: child.pid, url, logPath, stop: () => stopChild(child) };
}

const stopAll = () => Promise.all([...children].map(stopChild));

// ---------------------------------------------------------------------------------------------
// Requests, checks

const sha256 = (s) => createHash('sha256').update(s).digest('hex');

function requestBody(mode, model = 'gpt-4o-mini') {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      ...HISTORY,
      { role: 'user', content: 'Write one sentence about foxes.' },
    ],
    max_tokens: 64,
    temperature: 0,
    ...(mode === 'stream' ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/** Does a response look like a real answer? Returns a problem description or null. */
function checkResponse(mode, status, text) {
  if (status !== 200) return `status ${status}`;
  if (mode === 'nonstream') {
    let j;
    try {
      j = JSON.parse(text);
    } catch {
      return 'body is not JSON';
    }
    if (j.object !== 'chat.completion' || typeof j.choices?.[0]?.message?.content !== 'string' || !j.usage)
      return 'not a chat.completion with a message and usage';
    if (j.usage.completion_tokens !== STREAM_CHUNKS)
      return `usage.completion_tokens ${j.usage.completion_tokens}`;
    return null;
  }
  if (!text.trimEnd().endsWith('data: [DONE]')) return 'stream does not end with data: [DONE]';
  const events = text.split('\n\n').filter((e) => e.startsWith('data: {'));
  const content = events.filter((e) => /"delta":\{[^}]*"content":"[^"]/.test(e)).length;
  if (content !== STREAM_CHUNKS) return `stream carried ${content} content chunks, expected ${STREAM_CHUNKS}`;
  if (!events.some((e) => /"usage":\{"prompt_tokens"/.test(e))) return 'stream carried no usage chunk';
  return null;
}

/** One request on `agent`; resolves with status, text, time to first event (streams) and total. */
function oneRequest(agent, target, mode) {
  const body = requestBody(mode, target.model);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let ttfb = null;
    const req = http.request(
      `${target.url}/v1/chat/completions`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...target.headers,
        },
      },
      (res) => {
        const parts = [];
        res.on('data', (c) => {
          // For a stream, what a user waits for is the first event, not a header-only flush.
          if (ttfb === null && (mode !== 'stream' || c.includes('data:')))
            ttfb = Number(process.hrtime.bigint() - t0) / 1e6;
          parts.push(c);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            text: Buffer.concat(parts).toString('utf8'),
            ttfb,
            total: Number(process.hrtime.bigint() - t0) / 1e6,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out after 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function mockStats(mock) {
  return (await fetch(`${mock.url}/__stats`)).json();
}
async function mockReset(mock) {
  await fetch(`${mock.url}/__reset`, { method: 'POST' });
}

/** Upstream-side checks after a run: enough requests, and only the tenant's key. */
function checkUpstream(stats, clientOk, keys, where) {
  if (stats.total < clientOk)
    problems.push(
      `${where}: the mock saw ${stats.total} requests for ${clientOk} client 2xx (cached or short-circuited?)`,
    );
  const tenantHash = sha256(`Bearer ${keys.tenant}`);
  const virtualHashes = new Set(
    [keys.virtual, keys.virtualB].filter(Boolean).flatMap((k) => [sha256(`Bearer ${k}`), sha256(k)]),
  );
  for (const { sha256: h, count } of stats.keys) {
    if (virtualHashes.has(h)) problems.push(`${where}: ${count} upstream requests carried the VIRTUAL key`);
    else if (h !== tenantHash)
      problems.push(`${where}: ${count} upstream requests carried a credential other than the tenant's key`);
  }
  if (!stats.keys.some((k) => k.sha256 === tenantHash))
    problems.push(`${where}: the tenant's key never reached the mock`);
}

// ---------------------------------------------------------------------------------------------
// Throughput suite

const pct = (sorted, p) =>
  sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
    : null;
const r3 = (x) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

/** Field-wise medians of `cpuDetail` readings (null when none was taken). */
function medianDetail(details) {
  const taken = details.filter((d) => d != null);
  if (!taken.length) return null;
  const fields = ['userUs', 'systemUs', 'involuntarySwitches', 'voluntarySwitches'];
  return Object.fromEntries(fields.map((k) => [k, r3(median(taken.map((d) => d[k])))]));
}

function autocannonRun(opts, onResponse) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    if (onResponse) inst.on('response', onResponse);
  });
}

/** The autocannon options of a chat load run at `target`. */
function loadOptions(target, mode, connections) {
  return {
    url: `${target.url}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: requestBody(mode, target.model),
    connections,
    pipelining: 1,
    timeout: 10,
  };
}

/** Untimed load with `options` (a `loadOptions` result); any failure is a problem like a failed timed run. */
async function warmUp(label, options, seconds) {
  const w = await autocannonRun({ ...options, duration: seconds });
  if (w.non2xx || w.errors || w.timeouts)
    problems.push(`${label} warmup: ${w.non2xx} non-2xx, ${w.errors} errors, ${w.timeouts} timeouts`);
}

/** Warmup, then one timed autocannon run; CPU of the proxy process read around the timed run. */
async function loadRun(target, mode, connections, mock, minBytes) {
  await target.pinStore?.();
  const base = loadOptions(target, mode, connections);
  if (WARMUP > 0) await warmUp(`${target.name}/${mode}/${connections}`, base, WARMUP);
  await mockReset(mock);
  const samples = [];
  let short = 0;
  const cpu0 = target.pid ? processCpu(target.pid) : null;
  const gc0 = gcPauseMs.get(target.pid);
  const result = await autocannonRun({ ...base, duration: DURATION }, (_c, status, bytes, ms) => {
    if (status >= 200 && status < 300) samples.push(ms);
    if (bytes < minBytes) short++;
  });
  const cpu1 = target.pid ? processCpu(target.pid) : null;
  // Trace lines are read asynchronously: let the last ones of the run arrive.
  if (a.gc) await sleep(50);
  const gc1 = gcPauseMs.get(target.pid);
  const ok = result['2xx'];
  const where = `${target.name}/${mode}/${connections}c`;
  if (result.non2xx || result.errors || result.timeouts)
    problems.push(`${where}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  if (short) problems.push(`${where}: ${short} responses shorter than the checked response (truncated?)`);
  if (ok === 0) problems.push(`${where}: no successful responses`);
  const upstream = await mockStats(mock);
  checkUpstream(upstream, ok, target.keys, where);
  const sorted = Float64Array.from(samples).sort();
  return {
    rps: ok / result.duration,
    ok2xx: ok,
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    cpuUsPerRequest: cpu0 != null && ok ? ((cpu1.seconds - cpu0.seconds) * 1e6) / ok : null,
    cpuDetail: cpu0 != null && ok ? cpuDetail(cpu0, cpu1, ok) : null,
    gcUsPerRequest: gc0 != null && ok ? ((gc1 - gc0) * 1e3) / ok : null,
    // New upstream TCP connections per request: ~0 for a proxy that keeps its pool warm.
    upstreamConnsPerRequest: upstream.total ? upstream.connections / upstream.total : null,
  };
}

/**
 * Unloaded per-request cost: PROBE sequential requests per target on one keep-alive connection
 * each, interleaved round-robin across the targets so that drift hits them alike. Every response
 * is checked. Returns p50 of total time and of time to first event, per target.
 */
async function probe(targets, mode) {
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const total = targets.map(() => []);
  const ttfb = targets.map(() => []);
  for (const t of targets) await t.pinStore?.();
  try {
    const warm = 50;
    for (let i = 0; i < warm + PROBE; i++) {
      for (let t = 0; t < targets.length; t++) {
        // Alternate the order within each turn too.
        const k = i % 2 ? targets.length - 1 - t : t;
        const r = await oneRequest(agents[k], targets[k], mode);
        const bad = checkResponse(mode, r.status, r.text);
        if (bad) {
          problems.push(`${targets[k].name}/${mode} probe: ${bad}`);
          return null;
        }
        if (i >= warm) {
          total[k].push(r.total);
          ttfb[k].push(r.ttfb);
        }
      }
    }
  } finally {
    for (const ag of agents) ag.destroy();
  }
  return Object.fromEntries(
    targets.map((t, k) => [t.name, { totalP50: median(total[k]), ttfbP50: median(ttfb[k]) }]),
  );
}

async function throughputSuite(keys) {
  const mock = await startMock();
  const bare = await startBareProxy(mock.url);
  const gw = await startGateway(mock.url, keys, 'throughput');
  keys.virtual = gw.virtualKey;
  const minimal = a.minimal ? await startMinimalGateway(mock.url, keys) : null;
  const gwB = GATEWAY_B ? await startGateway(mock.url, keys, GATEWAY_B_LABEL) : null;
  if (gwB) keys.virtualB = gwB.virtualKey;
  const targets = [
    { name: 'direct', url: mock.url, headers: { authorization: `Bearer ${keys.tenant}` }, pid: null, keys },
    { name: 'bare', url: bare.url, headers: { authorization: `Bearer ${keys.tenant}` }, pid: bare.pid, keys },
    {
      name: 'gateway',
      url: gw.url,
      headers: { authorization: `Bearer ${gw.virtualKey}` },
      model: gw.model,
      pid: gw.pid,
      pinStore: gw.pinStore,
      keys,
    },
  ];
  if (minimal) {
    targets.push({
      name: 'minimal',
      url: minimal.url,
      headers: { authorization: `Bearer ${minimal.clientKey}` },
      pid: minimal.pid,
      keys,
    });
  }
  if (gwB) {
    targets.push({
      name: 'gatewayB',
      url: gwB.url,
      headers: { authorization: `Bearer ${gwB.virtualKey}` },
      model: gwB.model,
      pid: gwB.pid,
      pinStore: gwB.pinStore,
      keys,
    });
  }
  log(
    `mock ${mock.url} (pid ${mock.pid}), bare proxy ${bare.url} (pid ${bare.pid}), gateway ${gw.url} (pid ${gw.pid})${minimal ? `, minimal gateway ${minimal.url} (pid ${minimal.pid})` : ''}${gwB ? `, gateway B ${gwB.url} (pid ${gwB.pid})` : ''}`,
  );

  const out = { load: {}, probe: {} };
  for (const mode of MODES) {
    // Pre-flight: one checked request per target; its size bounds every loaded response's size.
    const minBytes = {};
    for (const t of targets) {
      const agent = new http.Agent({ keepAlive: false });
      const r = await oneRequest(agent, t, mode);
      const bad = checkResponse(mode, r.status, r.text);
      if (bad) throw new Error(`${t.name}/${mode} pre-flight: ${bad}`);
      minBytes[t.name] = Math.floor(Buffer.byteLength(r.text) * 0.9);
    }
    // A fresh gateway spends its first seconds under load compiling (V8's compiler threads took
    // ~12 % of its CPU 3-9 s in; a few dozen lines of bare proxy are optimised in milliseconds):
    // every target gets the same untimed load first, so rounds compare warm processes.
    if (JIT_WARMUP > 0) {
      for (const t of targets) {
        log(`[${mode}] ${t.name}: ${JIT_WARMUP} s JIT warm-up`);
        const c = CONNECTIONS[0];
        await t.pinStore?.();
        await warmUp(`${t.name}/${mode}/${c}`, loadOptions(t, mode, c), JIT_WARMUP);
      }
    }
    for (const connections of CONNECTIONS) {
      const rounds = [];
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        const entry = {};
        for (const t of order) {
          log(`[${mode} ${connections}c round ${round + 1}/${ROUNDS}] ${t.name}: ${WARMUP}+${DURATION} s`);
          entry[t.name] = await loadRun(t, mode, connections, mock, minBytes[t.name]);
        }
        entry.gwOverBare = entry.gateway.rps / entry.bare.rps;
        entry.gwOverDirect = entry.gateway.rps / entry.direct.rps;
        if (minimal) entry.gwOverMinimal = entry.gateway.rps / entry.minimal.rps;
        if (gwB) entry.gwOverB = entry.gateway.rps / entry.gatewayB.rps;
        rounds.push(entry);
      }
      const m = (f) => r3(median(rounds.map(f)));
      out.load[`${mode}@${connections}`] = {
        mode,
        connections,
        directRps: m((e) => e.direct.rps),
        bareRps: m((e) => e.bare.rps),
        gatewayRps: m((e) => e.gateway.rps),
        gwOverBare: m((e) => e.gwOverBare),
        gwOverDirect: m((e) => e.gwOverDirect),
        bareP50: m((e) => e.bare.p50),
        gatewayP50: m((e) => e.gateway.p50),
        bareP99: m((e) => e.bare.p99),
        gatewayP99: m((e) => e.gateway.p99),
        bareCpuUs: m((e) => e.bare.cpuUsPerRequest),
        gatewayCpuUs: m((e) => e.gateway.cpuUsPerRequest),
        bareGcUs: m((e) => e.bare.gcUsPerRequest),
        gatewayGcUs: m((e) => e.gateway.gcUsPerRequest),
        cpuDetail: Object.fromEntries(
          ['bare', 'gateway', ...(minimal ? ['minimal'] : []), ...(gwB ? ['gatewayB'] : [])].map((name) => [
            name,
            medianDetail(rounds.map((e) => e[name].cpuDetail)),
          ]),
        ),
        bareUpstreamConnsPerReq: m((e) => e.bare.upstreamConnsPerRequest),
        gatewayUpstreamConnsPerReq: m((e) => e.gateway.upstreamConnsPerRequest),
        ...(minimal
          ? {
              minimalRps: m((e) => e.minimal.rps),
              gwOverMinimal: m((e) => e.gwOverMinimal),
              minimalCpuUs: m((e) => e.minimal.cpuUsPerRequest),
              minimalGcUs: m((e) => e.minimal.gcUsPerRequest),
              gwCpuOverMinimalCpu: m((e) => e.gateway.cpuUsPerRequest / e.minimal.cpuUsPerRequest),
            }
          : {}),
        ...(gwB
          ? {
              gatewayBRps: m((e) => e.gatewayB.rps),
              gwOverB: m((e) => e.gwOverB),
              gatewayBCpuUs: m((e) => e.gatewayB.cpuUsPerRequest),
              gatewayBGcUs: m((e) => e.gatewayB.gcUsPerRequest),
              gwCpuOverBCpu: m((e) => e.gateway.cpuUsPerRequest / e.gatewayB.cpuUsPerRequest),
              gwOverBRounds: rounds.map((e) => r3(e.gwOverB)),
            }
          : {}),
        rounds: rounds.map((e) => ({
          gwOverBare: r3(e.gwOverBare),
          direct: r3(e.direct.rps),
          bare: r3(e.bare.rps),
          gateway: r3(e.gateway.rps),
        })),
      };
    }
    log(`[${mode}] unloaded probe: ${PROBE} sequential requests per target, interleaved`);
    await mockReset(mock);
    const p = await probe(targets, mode);
    // Probe requests through either proxy carried the tenant key (bare) or the virtual key (gateway).
    checkUpstream(await mockStats(mock), 0, keys, `${mode} probe`);
    if (p) {
      out.probe[mode] = {
        directTotalP50: r3(p.direct.totalP50),
        bareTotalP50: r3(p.bare.totalP50),
        gatewayTotalP50: r3(p.gateway.totalP50),
        addedVsBareMs: r3(p.gateway.totalP50 - p.bare.totalP50),
        addedVsDirectMs: r3(p.gateway.totalP50 - p.direct.totalP50),
        directTtfbP50: r3(p.direct.ttfbP50),
        bareTtfbP50: r3(p.bare.ttfbP50),
        gatewayTtfbP50: r3(p.gateway.ttfbP50),
        addedTtfbVsBareMs: r3(p.gateway.ttfbP50 - p.bare.ttfbP50),
        addedTtfbVsDirectMs: r3(p.gateway.ttfbP50 - p.direct.ttfbP50),
        ...(minimal
          ? {
              minimalTotalP50: r3(p.minimal.totalP50),
              minimalTtfbP50: r3(p.minimal.ttfbP50),
              addedVsMinimalMs: r3(p.gateway.totalP50 - p.minimal.totalP50),
            }
          : {}),
        ...(gwB
          ? { gatewayBTotalP50: r3(p.gatewayB.totalP50), gatewayBTtfbP50: r3(p.gatewayB.ttfbP50) }
          : {}),
      };
    }
  }
  await Promise.all([
    gw.stop(),
    gwB?.stop(),
    stopChild(bare.child),
    stopChild(mock.child),
    stopChild(minimal?.child),
  ]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// RSS suite

/**
 * Opens `n` streams at `target`, at most OPEN_WINDOW of them still waiting for their first event
 * at any time (so the ramp adapts to how fast the proxy sets streams up, and no accept queue
 * overflows into SYN retries), waits until every one has received its first event (bounded by
 * `openDeadlineMs`), samples the proxy's RSS, then lets them finish and checks each one.
 */
async function openStreams(target, n, mock, proxyPid, openDeadlineMs) {
  const OPEN_WINDOW = 256;
  const body = requestBody('stream', target.model);
  let launched = 0;
  let firstEvents = 0;
  let finished = 0;
  let completed = 0;
  let stopLaunching = false;
  const failures = [];
  const requests = [];
  const all = [];
  const waiting = () => launched - firstEvents - failures.length;

  function launch() {
    launched++;
    all.push(
      new Promise((resolve) => {
        let settled = false;
        const settle = (failure) => {
          if (settled) return;
          settled = true;
          finished++;
          if (failure) failures.push(failure);
          else completed++;
          pump();
          resolve();
        };
        const req = http.request(
          `${target.url}/v1/chat/completions`,
          {
            method: 'POST',
            agent: false,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              ...target.headers,
            },
          },
          (res) => {
            let seen = false;
            let tail = '';
            let content = 0;
            res.setEncoding('utf8');
            res.on('data', (c) => {
              if (!seen && c.includes('data:')) {
                seen = true;
                firstEvents++;
                pump();
              }
              content += (c.match(/"delta":\{[^}]*"content":"[^"]/g) ?? []).length;
              tail = (tail + c).slice(-64);
            });
            res.on('end', () => {
              if (res.statusCode !== 200) settle(`status ${res.statusCode}`);
              else if (!tail.trimEnd().endsWith('data: [DONE]')) settle('stream did not end with [DONE]');
              else if (content !== STREAM_CHUNKS) settle(`${content} content chunks`);
              else settle(null);
            });
            res.on('error', (e) => settle(e.message));
          },
        );
        req.on('error', (e) => settle(e.code ?? e.message));
        req.end(body);
        requests.push(req);
      }),
    );
  }
  function pump() {
    while (!stopLaunching && launched < n && waiting() < OPEN_WINDOW) launch();
  }

  const t0 = Date.now();
  pump();
  while (firstEvents + failures.length < n && Date.now() - t0 < openDeadlineMs) await sleep(50);
  stopLaunching = true;
  const rampMs = Date.now() - t0;
  const samples = [];
  for (let i = 0; i < 3; i++) {
    samples.push(rssBytes(proxyPid));
    await sleep(200);
  }
  const upstream = await mockStats(mock);
  // Streams receiving events, and requests the proxy holds in all (receiving, or queued by it).
  const openAtSample = firstEvents - finished;
  const inFlightAtSample = launched - finished;
  if (firstEvents < n) {
    // Not every stream got going: abort them all so the suite stays bounded, and say why.
    for (const r of requests) r.destroy();
  }
  await Promise.race([Promise.all(all), sleep(CHUNK_DELAY * (STREAM_CHUNKS + 4) + 15_000)]);
  return {
    launched,
    firstEvents,
    finished,
    completed,
    failures,
    openAtSample,
    inFlightAtSample,
    rampMs,
    upstreamOpen: upstream.open,
    upstreamMaxOpen: upstream.maxOpen,
    rss: median(samples),
  };
}

async function rssFor(name, target, proxyPid, mock, keys) {
  // Warm the proxy up (JIT, pools) with short streams before the baseline.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  await Promise.all(
    Array.from({ length: 200 }, () => oneRequest(agent, { ...target, url: target.url }, 'nonstream')),
  );
  agent.destroy();
  await sleep(1500);
  await target.pinStore?.();
  await mockReset(mock);
  const baseline = [];
  for (let i = 0; i < 3; i++) {
    baseline.push(rssBytes(proxyPid));
    await sleep(200);
  }
  const before = median(baseline);
  log(`[rss] ${name}: opening ${STREAMS} streams (one event every ${CHUNK_DELAY} ms)`);
  // A stream lasts (events − 1) × chunk delay; every stream must be open before the first ends.
  const lifetimeMs = CHUNK_DELAY * (STREAM_CHUNKS + 3);
  const openDeadlineMs = Math.floor(lifetimeMs * 0.75);
  const r = await openStreams(target, STREAMS, mock, proxyPid, openDeadlineMs);
  const where = `rss/${name}`;
  if (r.firstEvents < STREAMS)
    problems.push(
      `${where}: only ${r.firstEvents} of ${STREAMS} streams received their first event within ${(openDeadlineMs / 1000).toFixed(1)} s (the mock had ${r.upstreamOpen} open upstream, at most ${r.upstreamMaxOpen}): the rest were held back`,
    );
  else if (r.upstreamOpen < STREAMS || r.openAtSample < STREAMS)
    problems.push(
      `${where}: not every stream was open while RSS was sampled (${r.openAtSample} at the client, ${r.upstreamOpen} at the mock)`,
    );
  if (r.failures.length) {
    const kinds = [...new Set(r.failures)].slice(0, 3).join('; ');
    problems.push(`${where}: ${r.failures.length} streams failed (${kinds})`);
  }
  checkUpstream(await mockStats(mock), 0, keys, where);
  return {
    streams: STREAMS,
    openAtSample: r.openAtSample,
    inFlightAtSample: r.inFlightAtSample,
    rampS: r3(r.rampMs / 1000),
    upstreamOpen: r.upstreamOpen,
    upstreamMaxOpen: r.upstreamMaxOpen,
    rssBeforeMiB: r3(before / 2 ** 20),
    rssOpenMiB: r3(r.rss / 2 ** 20),
    bytesPerStream: Math.round((r.rss - before) / Math.max(1, r.inFlightAtSample)),
    completed: r.completed,
  };
}

async function rssSuite(keys) {
  const mock = await startMock(['--chunk-delay', String(CHUNK_DELAY)]);
  const out = {};
  const bare = await startBareProxy(mock.url);
  out.bare = await rssFor(
    'bare',
    { name: 'bare', url: bare.url, headers: { authorization: `Bearer ${keys.tenant}` } },
    bare.pid,
    mock,
    keys,
  );
  await stopChild(bare.child);
  for (const name of ['gateway']) {
    const gw = await startGateway(mock.url, keys, `rss-${name}`);
    keys.virtual = gw.virtualKey;
    out[name] = await rssFor(
      name,
      {
        name,
        url: gw.url,
        model: gw.model,
        pinStore: gw.pinStore,
        headers: { authorization: `Bearer ${gw.virtualKey}` },
      },
      gw.pid,
      mock,
      keys,
    );
    await gw.stop();
  }
  await stopChild(mock.child);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

function verdict(ok) {
  return ok == null ? '  ?' : ok ? 'ok ' : 'MISS';
}

function printReport(report) {
  const lines = [];
  const f = (x, d = 0) => (x == null ? '—' : Number(x).toFixed(d));
  lines.push('');
  lines.push(
    `Keyhold gateway vs bare proxy vs direct — ${report.startedAt}, node ${process.version}, ${os.cpus().length} CPUs, pinning ${JSON.stringify(pinning)}`,
  );
  lines.push(
    a.store === 'config'
      ? 'gateway: config-file directory (no store, no usage ledger, no limits or budgets)'
      : `gateway: ${a.store === 'postgres' ? 'PostgreSQL' : 'embedded PGlite'} store — virtual key auth, key from the vault, usage to the durable ledger, rate limits (tenant + per key) and budgets (daily + monthly) ${a.redis ? 'in Redis' : 'in memory'}, all checked on every request`,
  );
  lines.push(
    `node flags of the bare proxy, the gateway${a.minimal ? ' and the minimal gateway' : ''}: ${a['node-args'] || '(none: V8 defaults)'}${a.gc ? ' (and --trace-gc)' : ''}${a['gateway-node-args'] ? `; the gateway's own: ${a['gateway-node-args']}` : ''}`,
  );
  const misses = [];
  if (report.throughput) {
    const t = report.throughput;
    lines.push(
      `${HISTORY_KB ? `chat requests with ~${HISTORY_KB} KB of earlier turns\n` : ''}throughput: ${DURATION} s per run after ${WARMUP} s warmup (and ${JIT_WARMUP} s JIT warm-up per target and mode first), ${ROUNDS} round(s), order flipped each round; medians`,
    );
    const w = [10, 6, 11, 10, 11, 8, 6, 10, 8, 8, 8, 8, 10, 10];
    const row = (cells) => cells.map((c, i) => String(c).padStart(w[i])).join(' ');
    lines.push(
      row([
        'mode',
        'conns',
        'direct rps',
        'bare rps',
        'gateway rps',
        'gw/bare',
        '≥0.6',
        'gw/direct',
        'bare p50',
        'gw p50',
        'bare p99',
        'gw p99',
        'bare µs/req',
        'gw µs/req',
      ]),
    );
    for (const x of Object.values(t.load)) {
      const ok = x.gwOverBare == null ? null : x.gwOverBare >= TARGETS.nonstreamRatio;
      if (ok === false) misses.push(`${x.mode}@${x.connections}: gateway/bare ${x.gwOverBare} < 0.6`);
      lines.push(
        row([
          x.mode,
          x.connections,
          f(x.directRps),
          f(x.bareRps),
          f(x.gatewayRps),
          f(x.gwOverBare, 3),
          verdict(ok),
          f(x.gwOverDirect, 3),
          f(x.bareP50, 2),
          f(x.gatewayP50, 2),
          f(x.bareP99, 2),
          f(x.gatewayP99, 2),
          f(x.bareCpuUs),
          f(x.gatewayCpuUs),
        ]),
      );
    }
    lines.push(
      `  per-round gw/bare: ${Object.values(t.load)
        .map((x) => `${x.mode}@${x.connections} [${x.rounds.map((r) => r.gwOverBare).join(', ')}]`)
        .join('; ')}`,
    );
    lines.push(
      `unloaded (p50 of ${PROBE} sequential requests per target on one keep-alive connection, interleaved):`,
    );
    for (const [mode, p] of Object.entries(t.probe)) {
      if (mode === 'nonstream') {
        const ok = p.addedVsBareMs <= TARGETS.addedMs;
        if (!ok) misses.push(`nonstream added latency ${p.addedVsBareMs} ms > 0.5 ms`);
        lines.push(
          `  nonstream total: direct ${f(p.directTotalP50, 3)} ms, bare ${f(p.bareTotalP50, 3)} ms, gateway ${f(p.gatewayTotalP50, 3)} ms → added vs bare +${f(p.addedVsBareMs, 3)} ms [${verdict(ok).trim()} ≤0.5], vs direct +${f(p.addedVsDirectMs, 3)} ms`,
        );
      } else {
        const ok = p.addedTtfbVsBareMs <= TARGETS.addedTtfbMs;
        if (!ok) misses.push(`stream added time-to-first-event ${p.addedTtfbVsBareMs} ms > 0.5 ms`);
        lines.push(
          `  stream first event: direct ${f(p.directTtfbP50, 3)} ms, bare ${f(p.bareTtfbP50, 3)} ms, gateway ${f(p.gatewayTtfbP50, 3)} ms → added vs bare +${f(p.addedTtfbVsBareMs, 3)} ms [${verdict(ok).trim()} ≤0.5], vs direct +${f(p.addedTtfbVsDirectMs, 3)} ms`,
        );
        lines.push(
          `  stream total:       direct ${f(p.directTotalP50, 3)} ms, bare ${f(p.bareTotalP50, 3)} ms, gateway ${f(p.gatewayTotalP50, 3)} ms → added vs bare +${f(p.addedVsBareMs, 3)} ms, vs direct +${f(p.addedVsDirectMs, 3)} ms`,
        );
      }
    }
    lines.push('  µs/req = user+system CPU of that proxy process during the timed run ÷ its 2xx responses');
    lines.push(
      "  per request, user / system µs and the main thread's involuntary / voluntary context switches (preempted / waiting):",
    );
    for (const x of Object.values(t.load)) {
      const parts = Object.entries(x.cpuDetail ?? {})
        .filter(([, d]) => d != null)
        .map(
          ([name, d]) =>
            `${name} ${f(d.userUs)} / ${f(d.systemUs)}, ${f(d.involuntarySwitches, 2)} / ${f(d.voluntarySwitches, 2)}`,
        );
      if (parts.length) lines.push(`    ${x.mode}@${x.connections}: ${parts.join('; ')}`);
    }
    if (a.gc) {
      lines.push(
        `  GC pause per request (µs, main thread, --trace-gc): ${Object.values(t.load)
          .map(
            (x) =>
              `${x.mode}@${x.connections} bare ${f(x.bareGcUs, 1)}, gateway ${f(x.gatewayGcUs, 1)}${x.minimalGcUs != null ? `, minimal ${f(x.minimalGcUs, 1)}` : ''}${x.gatewayBGcUs != null ? `, gateway B ${f(x.gatewayBGcUs, 1)}` : ''}`,
          )
          .join('; ')}`,
      );
    }
    const withMinimal = Object.values(t.load).filter((x) => x.minimalRps != null);
    if (withMinimal.length) {
      lines.push(
        "  minimal gateway (bench/minimal-gateway.mjs: parses and rebuilds the JSON, none of Keyhold's features), same rounds:",
      );
      for (const x of withMinimal) {
        lines.push(
          `    ${x.mode}@${x.connections}: ${f(x.minimalRps)} rps, ${f(x.minimalCpuUs)} µs/req (bare ${f(x.bareCpuUs)}); gateway ÷ minimal: throughput ${f(x.gwOverMinimal, 3)}, CPU per request ${f(x.gwCpuOverMinimalCpu, 2)}×`,
        );
      }
      for (const [mode, p] of Object.entries(t.probe)) {
        if (p.minimalTotalP50 == null) continue;
        lines.push(
          `    ${mode} unloaded total: minimal ${f(p.minimalTotalP50, 3)} ms → gateway added vs minimal +${f(p.addedVsMinimalMs, 3)} ms`,
        );
      }
    }
    const withB = Object.values(t.load).filter((x) => x.gatewayBRps != null);
    if (withB.length) {
      lines.push(
        `  gateway B (${a['gateway-b-main'] ? `build ${GATEWAY_B_MAIN}` : 'the same build'}, its own store, further node flags: ${a['gateway-b-node-args'] || '(none)'}), same rounds:`,
      );
      for (const x of withB) {
        lines.push(
          `    ${x.mode}@${x.connections}: ${f(x.gatewayBRps)} rps, ${f(x.gatewayBCpuUs)} µs/req (gateway ${f(x.gatewayCpuUs)}); gateway ÷ gateway B: throughput ${f(x.gwOverB, 3)} [${x.gwOverBRounds.map((v) => f(v, 3)).join(', ')}], CPU per request ${f(x.gwCpuOverBCpu, 2)}×`,
        );
      }
      for (const [mode, p] of Object.entries(t.probe)) {
        if (p.gatewayBTotalP50 == null) continue;
        lines.push(
          `    ${mode} unloaded: gateway B total ${f(p.gatewayBTotalP50, 3)} ms, first event ${f(p.gatewayBTtfbP50, 3)} ms (gateway ${f(p.gatewayTotalP50, 3)} / ${f(p.gatewayTtfbP50, 3)} ms)`,
        );
      }
    }
    lines.push(
      `  new upstream connections per request (bare / gateway): ${Object.values(t.load)
        .map(
          (x) =>
            `${x.mode}@${x.connections} ${f(x.bareUpstreamConnsPerReq, 3)} / ${f(x.gatewayUpstreamConnsPerReq, 3)}`,
        )
        .join('; ')}`,
    );
  }
  if (report.rss) {
    lines.push(
      `rss: ${STREAMS} concurrent streams, one event every ${CHUNK_DELAY} ms (${STREAM_CHUNKS + 3} events each)`,
    );
    for (const [name, r] of Object.entries(report.rss)) {
      lines.push(
        `  ${name.padEnd(17)} RSS ${f(r.rssBeforeMiB, 1)} MiB before, ${f(r.rssOpenMiB, 1)} MiB with ${r.inFlightAtSample} concurrent streams (${r.openAtSample} receiving events, opened in ${f(r.rampS, 1)} s, ${r.upstreamOpen} open at the mock) → ${f(r.bytesPerStream)} bytes per stream; ${r.completed}/${r.streams} completed`,
      );
    }
  }
  if (misses.length) lines.push(`targets missed:\n  ${misses.join('\n  ')}`);
  if (problems.length) lines.push(`PROBLEMS (the figures above are not valid):\n  ${problems.join('\n  ')}`);
  else
    lines.push(
      'checks: all responses 2xx and of the right shape; the mock saw every request, every one with the tenant key and none with the virtual key',
    );
  process.stdout.write(`${lines.join('\n')}\n`);
  return misses;
}

async function main() {
  const report = {
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    pinning,
    settings: {
      duration: DURATION,
      warmup: WARMUP,
      jitWarmup: JIT_WARMUP,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      modes: MODES,
      probe: PROBE,
      streams: STREAMS,
      chunkDelayMs: CHUNK_DELAY,
      historyKb: HISTORY_KB,
      logLevel: a['log-level'],
      proxyNodeArgs: PROXY_NODE_ARGS,
      gatewayNodeArgs: a['gateway-node-args'] ?? '',
      gatewayBNodeArgs: a['gateway-b-node-args'] ?? null,
      gatewayBMain: a['gateway-b-main'] ?? null,
      gatewayMain: a['gateway-main'] ?? null,
    },
  };
  // A throwaway key: it only ever travels over loopback to the mock.
  const keys = { tenant: `bench-throwaway-${randomBytes(24).toString('hex')}`, virtual: '' };
  if (SUITES.includes('throughput')) report.throughput = await throughputSuite(keys);
  if (SUITES.includes('rss')) report.rss = await rssSuite(keys);
  report.finishedAt = new Date().toISOString();
  report.problems = problems;
  const misses = printReport(report);
  report.targetsMissed = misses;
  if (a.json) {
    mkdirSync(path.dirname(path.resolve(a.json)), { recursive: true });
    writeFileSync(a.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`full results: ${a.json}\n`);
  }
  await stopAll();
  process.exit(problems.length ? 1 : a.strict && misses.length ? 3 : 0);
}

// Hard bound on the whole run, whatever happens.
const LOADED_TARGETS = 3 + (a.minimal ? 1 : 0) + (GATEWAY_B ? 1 : 0);
const budgetS =
  (SUITES.includes('throughput')
    ? MODES.length * CONNECTIONS.length * ROUNDS * LOADED_TARGETS * (WARMUP + DURATION + 2) +
      MODES.length * LOADED_TARGETS * (JIT_WARMUP + 2) +
      60
    : 0) +
  (SUITES.includes('rss') ? 3 * ((CHUNK_DELAY * (STREAM_CHUNKS + 4)) / 1000 + 40) : 0) +
  60;
setTimeout(async () => {
  process.stderr.write(`gateway-compare: still running after ${Math.round(budgetS)} s: giving up\n`);
  await stopAll();
  process.exit(1);
}, budgetS * 1000).unref();

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await stopAll();
    process.exit(130);
  });
}

main().catch(async (err) => {
  process.stderr.write(`gateway-compare: ${err?.message ?? err}\n`);
  if (problems.length) process.stderr.write(`  ${problems.join('\n  ')}\n`);
  await stopAll();
  process.exit(1);
});
