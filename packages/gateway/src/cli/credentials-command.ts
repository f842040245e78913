import { parseArgs } from 'node:util';
import { createUndiciTransport, getProviderInfo } from '@keyhold/core';
import { type RevalidationResult, revalidateCredentials } from '../admin/revalidate-credentials.js';
import { createEgressAgent, createSsrfPolicy, loadAllowList } from '../egress/index.js';
import { type CliIo, type ExitCode, UsageError } from './cli-io.js';
import { findTenantId } from './find-tenant.js';
import { openStore } from './open-store.js';

/**
 * `keyhold credentials revalidate [--tenant <id|name|operator>] [--provider <p>] [--dry-run]`:
 * checks every active or invalid credential in scope with a one-token provider call through the
 * egress guard (the operator's allow-list applies, as in `keyhold serve`), marks refused keys
 * invalid and accepted ones active, and prints one line per credential — hints only, never a key.
 *
 * Exit codes: 0 every key checked and accepted (or nothing in scope); 3 at least one key is
 * invalid (newly marked, still refused, or — with `--dry-run` — would be marked); 4 none invalid
 * but at least one could not be checked (timeout, 5xx, 429, unreachable, no model to check with,
 * changed meanwhile); 1 the command failed; 2 usage error.
 */
export async function credentialsRevalidate(args: string[], io: CliIo): Promise<ExitCode> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      provider: { type: 'string' },
      'dry-run': { type: 'boolean' },
      concurrency: { type: 'string' },
      'timeout-ms': { type: 'string' },
      model: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
    },
  });
  const concurrency = wholeNumber(values.concurrency, '--concurrency', 4, 64);
  const timeoutMs = wholeNumber(values['timeout-ms'], '--timeout-ms', 10_000, 300_000);
  if (values.provider !== undefined && !getProviderInfo(values.provider)) {
    throw new UsageError(`Unknown provider "${values.provider.slice(0, 40)}"`);
  }
  const models: Record<string, string> = {};
  for (const entry of values.model ?? []) {
    const match = /^([a-z0-9-]+)=(\S+)$/.exec(entry);
    if (!match || !getProviderInfo(match[1]!)) {
      throw new UsageError('--model takes <provider>=<model>, e.g. --model vllm=llama-3.1-8b');
    }
    models[match[1]!] = match[2]!;
  }
  const dryRun = values['dry-run'] === true;

  const store = await openStore({
    env: io.env,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  // Checks reach providers the way `keyhold serve` does: every connection through the egress guard.
  const agent = createEgressAgent({
    policy: createSsrfPolicy({ allowList: await loadAllowList(store.database.db) }),
  });
  try {
    const { db } = store.database;
    const tenantId =
      values.tenant === undefined
        ? undefined
        : values.tenant === 'operator'
          ? null
          : await findTenantId(db, values.tenant);
    let done = 0;
    const results = await revalidateCredentials({
      db,
      vault: store.vault!,
      transport: createUndiciTransport({ dispatcher: agent }),
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(values.provider !== undefined ? { provider: values.provider } : {}),
      dryRun,
      concurrency,
      timeoutMs,
      models,
      onResult: () => {
        done++;
        if (done % 100 === 0) io.err(`  … ${done} credential(s) checked`);
      },
    });
    printTable(sortForPrinting(results), dryRun, io);
    io.out(summary(results, dryRun));
    if (results.some((r) => r.verdict === 'invalid')) return 3;
    if (results.some((r) => r.verdict === 'unchecked' || r.verdict === 'superseded')) return 4;
    return 0;
  } finally {
    await agent.close().catch(() => undefined);
    await store.close();
  }
}

function wholeNumber(value: string | undefined, flag: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}`);
  return n;
}

/** What happened to one credential, in words. */
export function describeResult(r: RevalidationResult, dryRun: boolean): string {
  switch (r.verdict) {
    case 'valid':
      return r.before === 'invalid' ? (dryRun ? 'valid: would reactivate' : 'valid: reactivated') : 'valid';
    case 'invalid':
      if (r.before === 'invalid') return `invalid: still refused (${r.code})`;
      return `${dryRun ? 'invalid: would mark invalid' : 'invalid: marked invalid'} (${r.code})`;
    case 'unchecked':
      return `unchecked: ${r.code} (unchanged)`;
    case 'superseded':
      return 'unchecked: changed meanwhile (unchanged)';
  }
}

function sortForPrinting(results: RevalidationResult[]): RevalidationResult[] {
  const key = (r: RevalidationResult) =>
    `${r.tenantName === null ? '' : `~${r.tenantName}`}\u0000${r.ownerLabel}\u0000${r.provider}\u0000${r.purpose}\u0000${r.credentialId}`;
  return [...results].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function printTable(results: RevalidationResult[], dryRun: boolean, io: CliIo): void {
  if (results.length === 0) return;
  const rows = [
    ['CREDENTIAL', 'TENANT', 'OWNER', 'PROVIDER', 'KEY', 'RESULT'],
    ...results.map((r) => [
      r.credentialId,
      r.tenantName ?? (r.tenantId === null ? 'operator' : r.tenantId),
      r.ownerLabel,
      r.purpose === 'any' ? r.provider : `${r.provider} (${r.purpose})`,
      r.hint,
      describeResult(r, dryRun),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => [...row[column]!].length)));
  for (const row of rows) {
    io.out(
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    );
  }
}

function summary(results: RevalidationResult[], dryRun: boolean): string {
  const count = (f: (r: RevalidationResult) => boolean) => results.filter(f).length;
  const valid = count((r) => r.verdict === 'valid');
  const invalid = count((r) => r.verdict === 'invalid');
  const newly = count((r) => r.verdict === 'invalid' && r.before === 'active');
  const reactivated = count((r) => r.verdict === 'valid' && r.before === 'invalid');
  const unchecked = count((r) => r.verdict === 'unchecked' || r.verdict === 'superseded');
  const would = dryRun ? 'would be ' : '';
  return (
    `${dryRun ? 'Dry run (nothing written): c' : 'C'}hecked ${results.length} credential(s): ` +
    `${valid} valid (${reactivated} ${would}reactivated), ${invalid} invalid (${newly} ${would}newly marked), ` +
    `${unchecked} not checked.`
  );
}
