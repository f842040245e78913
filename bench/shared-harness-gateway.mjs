#!/usr/bin/env node
// The `--gateway-cmd` that bench/shared-harness.mjs gives ../shared/bench/compare.mjs: points the
// benchmark tenant's credential at the mock that compare.mjs started (MOCK_URL), then runs the
// built gateway on GATEWAY_PORT in the foreground. The store (DATABASE_URL, KEYHOLD_MASTER_KEYS)
// was provisioned by shared-harness.mjs, which passes KEYHOLD_BENCH_CREDENTIAL_ID.
//
// The credential's base URL is the only thing that changes: compare.mjs picks the mock's port at
// start, after the tenant, its sealed key and the virtual key already exist. `fields` is not part
// of the ciphertext's associated data, so the sealed key is untouched.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GATEWAY_MAIN = path.join(HERE, '..', 'packages/gateway/dist/cli/main.js');

const { MOCK_URL, GATEWAY_PORT, DATABASE_URL, KEYHOLD_BENCH_CREDENTIAL_ID: credentialId } = process.env;
if (!MOCK_URL || !GATEWAY_PORT || !DATABASE_URL || !credentialId) {
  process.stderr.write(
    'shared-harness-gateway: run by bench/shared-harness.mjs (needs MOCK_URL, GATEWAY_PORT, DATABASE_URL, KEYHOLD_BENCH_CREDENTIAL_ID)\n',
  );
  process.exit(2);
}

const client = new pg.Client({ connectionString: DATABASE_URL });
await client.connect();
try {
  const updated = await client.query(
    `update credentials set fields = fields || jsonb_build_object('baseURL', $1::text) where id = $2`,
    [`${MOCK_URL}/v1`, credentialId],
  );
  if (updated.rowCount !== 1) throw new Error(`credential ${credentialId} not found`);
} finally {
  await client.end();
}

// This wrapper's node flags (shared-harness.mjs --node-args) are the gateway's.
const child = spawn(process.execPath, [...process.execArgv, GATEWAY_MAIN, 'serve', '--port', GATEWAY_PORT], {
  stdio: 'inherit',
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
