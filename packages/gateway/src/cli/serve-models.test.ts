import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from './cli-io.js';
import { main } from './run-command.js';
import { serve } from './serve.js';

const KEY = /kh_[0-9A-Za-z]{28}/;

// In store mode the operator's aliases come from a models file (`--models` / KEYHOLD_MODELS_FILE).
describe('keyhold serve --models (store mode)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-models-'));
  const dataDir = join(dir, 'data');
  const modelsFile = join(dir, 'models.yaml');
  writeFileSync(
    modelsFile,
    [
      'aliases:',
      '  quick: fake/echo-1',
      '  smart: openai/gpt-4o-mini',
      'list:',
      '  - anthropic/claude-sonnet-4-5',
    ].join('\n'),
  );
  const env = { KEYHOLD_LOG_LEVEL: 'silent' };
  let virtualKey = '';
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const chat = async (url: string, model: string) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${virtualKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    const body = (await res.json()) as {
      choices?: Array<{ message: { content: string } }>;
      error?: { code: string };
    };
    return { status: res.status, text: body.choices?.[0]?.message.content, code: body.error?.code };
  };

  it("routes the file's aliases and lists them, next to the demo's own alias", async () => {
    const printed: string[] = [];
    const served = await serve({
      dataDir,
      models: modelsFile,
      port: 0,
      print: (t) => printed.push(t),
      warn: () => undefined,
      env,
    });
    try {
      virtualKey = KEY.exec(printed.join('\n'))![0];
      expect(await chat(served.url, 'quick')).toEqual({ status: 200, text: 'You said: Hi', code: undefined });
      // The alias resolved to openai: the demo tenant has no openai key (not an unknown model).
      expect((await chat(served.url, 'smart')).code).toBe('no_provider_credential');
      expect((await chat(served.url, 'nope')).code).toBe('model_not_found');
      expect((await chat(served.url, 'demo')).status).toBe(200);
      const res = await fetch(`${served.url}/v1/models`, {
        headers: { authorization: `Bearer ${virtualKey}` },
      });
      const ids = ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
      expect(ids).toEqual(expect.arrayContaining(['quick', 'demo', 'fake/echo-1']));
    } finally {
      await served.close();
    }
  });

  it('reads KEYHOLD_MODELS_FILE when no --models is given', async () => {
    const served = await serve({
      dataDir,
      port: 0,
      print: () => undefined,
      warn: () => undefined,
      env: { ...env, KEYHOLD_MODELS_FILE: modelsFile },
    });
    try {
      expect((await chat(served.url, 'quick')).status).toBe(200);
    } finally {
      await served.close();
    }
  });

  it("prices models with the file's pricing section: a budget then holds back a model the catalogue does not price", async () => {
    const pricedDir = join(dir, 'priced');
    const priced = join(dir, 'priced.yaml');
    // `fake` is unpriced in the catalogue: without the override no budget ever refuses it.
    writeFileSync(
      priced,
      'pricing:\n  overrides:\n    - { provider: fake, model: "*", inputPerMTok: 1000000, outputPerMTok: 1000000 }\n',
    );
    const operatorToken = `op-${'x'.repeat(32)}`;
    const run = async (models: string | undefined) => {
      const printed: string[] = [];
      const served = await serve({
        dataDir: pricedDir,
        ...(models ? { models } : {}),
        port: 0,
        print: (t) => printed.push(t),
        warn: () => undefined,
        env: { ...env, KEYHOLD_OPERATOR_TOKEN: operatorToken },
      });
      return { served, key: KEY.exec(printed.join('\n'))?.[0] };
    };
    const first = await run(undefined);
    const key = first.key!;
    const admin = { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' };
    try {
      const tenants = (await (
        await fetch(`${first.served.url}/api/v1/tenants`, { headers: admin })
      ).json()) as {
        tenants: Array<{ id: string; name: string }>;
      };
      const demo = tenants.tenants.find((t) => t.name === 'demo')!;
      const patched = await fetch(`${first.served.url}/api/v1/tenants/${demo.id}`, {
        method: 'PATCH',
        headers: admin,
        body: JSON.stringify({ settings: { monthly_budget_usd: 1 } }),
      });
      expect(patched.status).toBe(200);
      virtualKey = key;
      // Unpriced: the $1 budget does not apply.
      expect((await chat(first.served.url, 'demo')).status).toBe(200);
    } finally {
      await first.served.close();
    }
    const second = await run(priced);
    try {
      // Priced at $1 a token, the call's worst case is far over $1: refused, naming the budget.
      expect(await chat(second.served.url, 'demo')).toMatchObject({ status: 429, code: 'budget_exceeded' });
    } finally {
      await second.served.close();
    }
  });

  it('refuses to start on a bad file, naming each problem; --models with --config is a mistake', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'aliases:\n  fast: gpt-4o\n  odd: nosuch/model\nextra: 1\n');
    const err: string[] = [];
    const io: CliIo = { env, out: () => undefined, err: (t) => err.push(t) };
    expect(await main(['serve', '--port', '0', '--data-dir', dataDir, '--models', bad], io)).toBe(1);
    expect(err.join('\n')).toContain(`Invalid models file ${bad}:`);
    expect(err.join('\n')).toContain('extra: unknown field');
    const semantic = join(dir, 'semantic.yaml');
    writeFileSync(semantic, 'aliases:\n  fast: gpt-4o\n  odd: nosuch/model\n');
    err.length = 0;
    expect(await main(['serve', '--port', '0', '--data-dir', dataDir, '--models', semantic], io)).toBe(1);
    expect(err.join('\n')).toContain('aliases.fast: "gpt-4o" is not provider/model');
    expect(err.join('\n')).toContain('aliases.odd: unknown provider "nosuch"');
    err.length = 0;
    expect(await main(['serve', '--models', join(dir, 'missing.yaml'), '--data-dir', dataDir], io)).toBe(1);
    expect(err.join('\n')).toContain('cannot read the file (ENOENT)');
    err.length = 0;
    expect(await main(['serve', '--config', modelsFile, '--models', modelsFile], io)).toBe(1);
    expect(err.join('\n')).toContain('--models is for store mode');
  });
});
