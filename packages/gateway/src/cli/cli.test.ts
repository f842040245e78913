import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoKeyIn } from '../../../core/test/support/leaks.js';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../store/testing/backends.js';
import { cleanEnv, type RunningServer, runKeyhold, startServe } from './testing/run-keyhold.js';

const KEY = /kh_[0-9A-Za-z]{28}/;

async function chat(url: string, key: string) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'Hello, Keyhold!' }] }),
  });
  const body = (await res.json()) as { choices?: Array<{ message: { content: string } }> };
  return { status: res.status, text: body.choices?.[0]?.message.content };
}

// Every step spawns a process that loads TypeScript and (on PGlite) a WebAssembly PostgreSQL.
describe('keyhold on the embedded store', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-cli-'));
  const env = cleanEnv();
  let firstKey: string;
  let secondKey: string;
  let keyFile: string;
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('first run: generates a master key (0600) with a warning, seeds the demo, prints a working key once', async () => {
    const server = await startServe(['--data-dir', dataDir], env);
    try {
      expect(server.stderr()).toContain('WARNING: no KEYHOLD_MASTER_KEYS');
      expect(server.stderr()).toContain('Production must provide its own master key');
      keyFile = join(dataDir, 'master-keys');
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const banner = server.stdout();
      expect(banner).toContain('First run: seeded tenant "demo"');
      firstKey = KEY.exec(banner)![0];
      expect(banner).toContain(`curl ${server.url}/v1/chat/completions`);
      expect(await chat(server.url, firstKey)).toEqual({ status: 200, text: 'You said: Hello, Keyhold!' });
      // The master key never appears in what the process printed.
      const entry = readFileSync(keyFile, 'utf8').trim().split('\n').at(-1)!;
      expectNoKeyIn(server.stdout() + server.stderr(), entry.split(':')[1]!);

      // One process per data directory: a second command is refused while serve runs.
      const busy = await runKeyhold(['audit', 'verify', '--data-dir', dataDir], env);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('is in use by another keyhold process');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('between runs: virtual-keys create prints a new key once; audit verify finds the chains intact', async () => {
    const created = await runKeyhold(
      ['virtual-keys', 'create', '--tenant', 'demo', '--data-dir', dataDir],
      env,
    );
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(new RegExp(`^${KEY.source}$`));
    const audit = await runKeyhold(['audit', 'verify', '--data-dir', dataDir], env);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/Audit log intact: \d+ event\(s\) in 2 chain\(s\)/);
    const missing = await runKeyhold(
      ['virtual-keys', 'create', '--tenant', 'nobody', '--data-dir', dataDir],
      env,
    );
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('No tenant "nobody"');
    secondKey = created.stdout.trim();
  });

  it('later run: reuses the key file and the data, shows no key, both keys still work', async () => {
    const before = readFileSync(keyFile, 'utf8');
    const server = await startServe(['--data-dir', dataDir], env);
    try {
      expect(readFileSync(keyFile, 'utf8')).toBe(before);
      expect(server.stderr()).not.toContain('WARNING');
      expect(server.stderr()).toContain(`using the master key file ${keyFile}`);
      expect(server.stdout()).toContain('The demo tenant exists');
      expect(server.stdout()).toContain('keyhold virtual-keys create --tenant demo');
      expect(server.stdout()).not.toMatch(KEY);
      expect(await chat(server.url, firstKey)).toEqual({ status: 200, text: 'You said: Hello, Keyhold!' });
      expect((await chat(server.url, secondKey)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('a wrong master key: exit 1, a clear message, no key in the output', async () => {
    const wrong = `1:${randomBytes(32).toString('base64')}`;
    const result = await runKeyhold(
      ['serve', '--port', '0', '--data-dir', dataDir],
      cleanEnv({ KEYHOLD_MASTER_KEYS: wrong }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Master key version 1 is not the key this database was encrypted with');
    expect(result.stderr).toContain('Check KEYHOLD_MASTER_KEYS');
    expect(result.stdout).not.toContain('Keyhold is running');
    const stored = readFileSync(keyFile, 'utf8').trim().split('\n').at(-1)!.split(':')[1]!;
    expectNoKeyIn(result.stdout + result.stderr, wrong.slice(2), stored);
  });

  it('a malformed master key and a missing one are refused before anything starts', async () => {
    const malformed = await runKeyhold(
      ['serve', '--data-dir', dataDir],
      cleanEnv({ KEYHOLD_MASTER_KEYS: 'not-a-key-abcdefgh' }),
    );
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('Master key entry 1 is not in the form <version>:<base64 key>');
    expect(malformed.stderr).not.toContain('not-a-key');
    const badTtl = await runKeyhold(
      ['serve', '--data-dir', dataDir],
      cleanEnv({ KEYHOLD_OPENED_KEY_TTL_MS: '10s' }),
    );
    expect(badTtl.code).toBe(1);
    expect(badTtl.stderr).toContain('KEYHOLD_OPENED_KEY_TTL_MS must be a whole number of milliseconds');
    const empty = mkdtempSync(join(tmpdir(), 'keyhold-cli-nokey-'));
    try {
      const noKey = await runKeyhold(['keys', 'rotate', '--data-dir', empty], env);
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('No master key');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('embedded rotation: a newer key version is used on the next start and the old one can be retired', async () => {
    const old = readFileSync(keyFile, 'utf8').trim().split('\n').at(-1)!;
    const generated = await runKeyhold(['keys', 'generate', '--data-dir', dataDir], env);
    expect(generated.code).toBe(0);
    const entry = generated.stdout.trim();
    expect(entry).toMatch(/^2:[A-Za-z0-9+/]{43}=$/);
    expect(generated.stderr).toContain('keyhold keys rotate');
    const both = cleanEnv({ KEYHOLD_MASTER_KEYS: `${entry},${old}` });
    // Still in use: refused.
    const early = await runKeyhold(['keys', 'retire', '1', '--data-dir', dataDir], both);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('still encrypts 1 credential(s)');
    const rotated = await runKeyhold(['keys', 'rotate', '--data-dir', dataDir], both);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('Re-encrypted 1 credential(s) to master key version 2');
    expect((await runKeyhold(['keys', 'retire', '1', '--data-dir', dataDir], both)).code).toBe(0);
    // Only the new key now: the store serves.
    const server = await startServe(['--data-dir', dataDir], cleanEnv({ KEYHOLD_MASTER_KEYS: entry }));
    try {
      expect(await chat(server.url, firstKey)).toEqual({ status: 200, text: 'You said: Hello, Keyhold!' });
    } finally {
      await server.stop();
    }
  });

  it('usage errors exit 2 with the usage; --help exits 0', async () => {
    const unknown = await runKeyhold(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badPort = await runKeyhold(['serve', '--port', 'x'], env);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--port must be a number');
    const noTenant = await runKeyhold(['virtual-keys', 'create'], env);
    expect(noTenant.code).toBe(2);
    const help = await runKeyhold(['keys', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('keyhold keys rotate');
  });
});

describe.runIf(BACKENDS.includes('postgres'))(
  'keyhold on PostgreSQL (DATABASE_URL)',
  { timeout: 120_000 },
  () => {
    let database: TestDatabase;
    const k1 = `1:${randomBytes(32).toString('base64')}`;
    const k2 = `2:${randomBytes(32).toString('base64')}`;
    beforeAll(async () => {
      database = await openTestDatabase('postgres');
    });
    afterAll(() => database?.close());

    it('refuses to start without a master key, naming the settings', async () => {
      const result = await runKeyhold(['serve', '--port', '0'], cleanEnv({ DATABASE_URL: database.url! }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('No master key: with DATABASE_URL, set KEYHOLD_MASTER_KEYS');
    });

    it('keys rotate while serve answers requests: no request fails', async () => {
      const first = await startServe(
        ['--demo'],
        cleanEnv({ DATABASE_URL: database.url!, KEYHOLD_MASTER_KEYS: k1 }),
      );
      const key = KEY.exec(first.stdout())![0];
      expect((await chat(first.url, key)).status).toBe(200);
      await first.stop();

      // The rolling restart of the rotation rules: the new version first, the old one kept.
      const both = cleanEnv({ DATABASE_URL: database.url!, KEYHOLD_MASTER_KEYS: `${k2},${k1}` });
      const server: RunningServer = await startServe([], both);
      try {
        let stop = false;
        const statuses: number[] = [];
        const load = async () => {
          while (!stop) statuses.push((await chat(server.url, key)).status);
        };
        const loops = [load(), load(), load()];
        await new Promise((r) => setTimeout(r, 200));
        const rotated = await runKeyhold(['keys', 'rotate', '--batch-size', '1'], both);
        await new Promise((r) => setTimeout(r, 200));
        stop = true;
        await Promise.all(loops);
        expect(rotated.code).toBe(0);
        expect(rotated.stdout).toContain('to master key version 2');
        expect(statuses.length).toBeGreaterThan(10);
        expect(statuses.filter((s) => s !== 200)).toEqual([]);
        expect((await runKeyhold(['keys', 'retire', '1'], both)).code).toBe(0);
        expect((await chat(server.url, key)).status).toBe(200);
      } finally {
        await server.stop();
      }
      const rows = await database.db.selectFrom('credentials').select('keyVersion').execute();
      expect(rows.map((r) => r.keyVersion)).toEqual(rows.map(() => 2));
    });
  },
);
