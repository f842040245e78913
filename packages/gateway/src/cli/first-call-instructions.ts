import type { KeyringSource } from './master-key-file.js';
import type { DemoState } from './seed-demo.js';

/** What `keyhold serve` prints once listening on the embedded store or PostgreSQL. */
export function storeBanner(input: {
  url: string;
  where: string;
  demo: DemoState;
  dataDirFlag: string;
}): string {
  const { url, where, demo, dataDirFlag } = input;
  const lines = ['', `Keyhold is running at ${url} on ${where}.`];
  if (demo.kind === 'seeded') {
    lines.push(
      'First run: seeded tenant "demo", the offline "fake" provider as operator key, model alias "demo".',
      '',
      `Demo virtual key (shown once — Keyhold keeps only its hash): ${demo.virtualKey}`,
      '',
      ...curl(url, demo.virtualKey),
    );
  } else if (demo.kind === 'exists') {
    const shown = demo.keys.map((k) => `${k.prefix}…${k.hint.replace(/^…/, '')}`).join(', ');
    lines.push(
      `The demo tenant exists${demo.keys.length > 0 ? ` with virtual key(s) ${shown}` : ''}; keys are shown only when created.`,
      `Lost it? Create another: keyhold virtual-keys create --tenant demo${dataDirFlag}`,
      '  (on the embedded store, stop this server first: one process per data directory)',
      '',
      ...curl(url, '<your kh_… virtual key>'),
    );
  } else {
    lines.push('Create tenants, credentials and virtual keys through the admin API, or:');
    lines.push(`  keyhold virtual-keys create --tenant <tenant id>${dataDirFlag}`);
  }
  lines.push('');
  return lines.join('\n');
}

function curl(url: string, key: string): string[] {
  return [
    'Make a first call:',
    `  curl ${url}/v1/chat/completions \\`,
    `    -H 'Authorization: Bearer ${key}' \\`,
    `    -H 'Content-Type: application/json' \\`,
    `    -d '{"model":"demo","messages":[{"role":"user","content":"Hello, Keyhold!"}]}'`,
    '',
    `Or point any OpenAI client at it: baseURL = ${url}/v1, apiKey = the virtual key.`,
  ];
}

/** The warning or note about where the master key came from; undefined when it is the environment. */
export function masterKeyNotice(source: KeyringSource | undefined): string | undefined {
  if (source?.kind !== 'data-dir') return undefined;
  if (!source.generated) {
    return `Note: using the master key file ${source.path} (generated on the first run). Production must provide its own key: KEYHOLD_MASTER_KEYS or KEYHOLD_MASTER_KEYS_FILE.`;
  }
  return [
    '',
    'WARNING: no KEYHOLD_MASTER_KEYS or KEYHOLD_MASTER_KEYS_FILE is set, so Keyhold generated a master key',
    `  into ${source.path} (mode 0600) to encrypt the provider keys of this embedded store.`,
    '  Anyone who can read that file and the data directory can decrypt every stored provider key, and',
    '  losing it loses them. This is for trying Keyhold out. Production must provide its own master key:',
    '  `keyhold keys generate`, keep the line in a secret manager, and set KEYHOLD_MASTER_KEYS (or',
    '  KEYHOLD_MASTER_KEYS_FILE) for every instance.',
    '',
  ].join('\n');
}
