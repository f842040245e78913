// What the gateway benchmarks share: the benchmark tenant they provision, the way they wait for
// and provision a started gateway, and small helpers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Median of the finite numbers in `xs` (null when there are none). */
export function median(xs) {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((x, y) => x - y);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds a process has used so far (user and system, every thread) and its main thread's
 * context switches, from Linux's /proc: involuntary ones are preemptions (on a shared core, by the
 * mock), voluntary ones waits for work.
 */
export function processCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state ppid … utime (14th field overall) stime (15th).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const switches = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  const user = Number(f[11]) / CLK_TCK;
  const system = Number(f[12]) / CLK_TCK;
  return {
    seconds: user + system,
    user,
    system,
    voluntarySwitches: switches('voluntary_ctxt_switches'),
    involuntarySwitches: switches('nonvoluntary_ctxt_switches'),
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once the gateway at `url` answers `/readyz` with 200; rejects if `child` exits first. */
export async function waitUntilReady(url, child, { timeoutMs = 30_000, what = 'gateway' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode})`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** One statement on the database at `url` (its own connection, closed after); the rows. */
export async function databaseQuery(url, text, values) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once `child` (absent: nothing) has exited. */
export function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * The price the benchmark gives its model, `openai-compatible/gpt-4o-mini` (OpenAI's published
 * gpt-4o-mini price, US$ per million tokens). The catalogue does not price an OpenAI-compatible
 * server's models, and an unpriced call costs nothing: without this no budget would be reserved or
 * settled, and the benchmark would skip the budgets it claims to check.
 */
export const BENCH_PRICE = {
  provider: 'openai-compatible',
  model: 'gpt-4o-mini',
  inputPerMTok: 0.15,
  outputPerMTok: 0.6,
};

/**
 * The store-mode models file of the benchmark (`KEYHOLD_MODELS_FILE`): the model priced, and
 * `aliases` as given (the shared harness's load asks for `gpt-4o-mini`).
 */
export function benchModelsFile(aliases = {}) {
  return { aliases, pricing: { overrides: [BENCH_PRICE] } };
}

/**
 * The `POST /api/v1/tenants` body of the benchmark tenant with this credential: limits and budgets
 * so high that nothing is ever refused, yet every one of them checked and charged on each request.
 */
export function benchTenant(credential) {
  const huge = 1_000_000_000;
  return {
    name: 'Benchmark tenant',
    settings: {
      rate_limits: {
        requests_per_minute: huge,
        tokens_per_minute: huge,
        per_key: { requests_per_minute: huge, tokens_per_minute: huge },
      },
      budgets: [{ id: 'bench-daily', scope: 'tenant', period: 'day', limit_usd: 1e9, mode: 'hard' }],
      monthly_budget_usd: 1e9,
    },
    credential,
  };
}

/**
 * Through the admin API of the store-mode gateway at `url`: loopback on the egress allow-list,
 * the benchmark tenant with `credential`, and a virtual key for it. Returns both ids and the key.
 */
export async function provisionBenchTenant(url, operatorToken, credential) {
  const admin = async (method, route, body, headers = {}) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const json = await res.json().catch(() => undefined);
    if (!res.ok) throw new Error(`admin ${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  await admin('PUT', '/api/v1/egress/allow-list', { hosts: ['127.0.0.1'] });
  const tenant = await admin('POST', '/api/v1/tenants', benchTenant(credential));
  const vk = await admin(
    'POST',
    '/api/v1/virtual-keys',
    { name: 'bench' },
    { 'x-keyhold-tenant': tenant.id },
  );
  if (typeof vk?.key !== 'string') throw new Error('the admin API returned no virtual key');
  return { tenantId: tenant.id, virtualKey: vk.key };
}
