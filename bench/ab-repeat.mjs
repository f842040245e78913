// An A/B of two gateway builds that a single run of gateway-compare.mjs cannot settle. One run
// measures both builds in the same rounds, but on a shared VM two identical processes already read
// up to ±10 % apart (an A/A, bench/README.md): an effect of a few per cent is lost in it. This runs
// gateway-compare.mjs `--runs` times, each time with fresh processes and the builds' roles swapped
// (odd runs: the new build is "the gateway" and the old one "gateway B"; even runs the other way
// round), and prints new ÷ old per run and their median, min and max, for throughput and for CPU
// per request.
//
//   node bench/ab-repeat.mjs --old bench/zz-old-XXXX/gateway/dist/cli/main.js [--new FILE] \
//     [--runs 4] [-- further gateway-compare.mjs options, e.g. --store postgres --modes nonstream]
//
// --new defaults to packages/gateway/dist/cli/main.js (the working tree's build). bench/README.md
// says how to copy the old build (its recipe for --gateway-b-main).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: path.join(HERE, '..', 'packages/gateway/dist/cli/main.js') },
    runs: { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const runs = Number(values.runs);
if (values.help || !values.old || !Number.isInteger(runs) || runs < 2) {
  process.stderr.write(
    'usage: node bench/ab-repeat.mjs --old FILE [--new FILE] [--runs N ≥ 2] [-- gateway-compare options]\n',
  );
  process.exit(values.help ? 0 : 2);
}

for (const [option, file] of [
  ['--old', values.old],
  ['--new', values.new],
]) {
  if (!existsSync(file)) {
    process.stderr.write(`ab-repeat: ${option} ${file} not found (build it first; bench/README.md)\n`);
    process.exit(2);
  }
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const f3 = (x) => (x == null || Number.isNaN(x) ? '—' : x.toFixed(3));

const dir = mkdtempSync(path.join(os.tmpdir(), 'keyhold-ab-'));
/** Per `mode@connections`: new ÷ old of every run, throughput and CPU per request. */
const ratios = new Map();
try {
  for (let run = 1; run <= runs; run++) {
    const newIsA = run % 2 === 1;
    const [a, b] = newIsA ? [values.new, values.old] : [values.old, values.new];
    const json = path.join(dir, `run-${run}.json`);
    process.stdout.write(
      `run ${run}/${runs}: gateway = ${newIsA ? 'new' : 'old'}, gateway B = ${newIsA ? 'old' : 'new'}\n`,
    );
    const child = spawnSync(
      process.execPath,
      [
        path.join(HERE, 'gateway-compare.mjs'),
        '--gateway-main',
        a,
        '--gateway-b-main',
        b,
        '--json',
        json,
        ...positionals,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (child.status !== 0) throw new Error(`gateway-compare.mjs exited with ${child.status} in run ${run}`);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    if (report.problems?.length) throw new Error(`run ${run} is not valid: ${report.problems.join('; ')}`);
    for (const [key, x] of Object.entries(report.throughput.load)) {
      // gateway ÷ gateway B, turned into new ÷ old.
      const rps = newIsA ? x.gwOverB : 1 / x.gwOverB;
      const cpu = newIsA ? x.gwCpuOverBCpu : 1 / x.gwCpuOverBCpu;
      const entry = ratios.get(key) ?? { rps: [], cpu: [] };
      entry.rps.push(rps);
      entry.cpu.push(cpu);
      ratios.set(key, entry);
      process.stdout.write(`  ${key}: new ÷ old throughput ${f3(rps)}, CPU per request ${f3(cpu)}\n`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

process.stdout.write(
  `\nnew ${values.new}\nold ${values.old}\n${runs} runs, roles swapped every run; new ÷ old (throughput > 1 and CPU < 1 favour new):\n`,
);
for (const [key, { rps, cpu }] of ratios) {
  process.stdout.write(
    `  ${key.padEnd(14)} throughput median ${f3(median(rps))} [min ${f3(Math.min(...rps))}, max ${f3(Math.max(...rps))}]` +
      `   CPU per request median ${f3(median(cpu))} [min ${f3(Math.min(...cpu))}, max ${f3(Math.max(...cpu))}]\n`,
  );
}
