#!/usr/bin/env node
import type { CliIo } from './cli-io.js';
import { main } from './run-command.js';

const io: CliIo = {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

main(process.argv.slice(2), io).then(
  (code) => process.exit(code),
  (error: unknown) => {
    io.err(`keyhold: ${error instanceof Error ? error.message : 'unknown error'}`);
    process.exit(1);
  },
);
