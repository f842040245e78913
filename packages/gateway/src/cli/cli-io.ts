/** What a command reads and writes: injectable so tests can run commands in-process. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  /** Results (stdout). */
  out(text: string): void;
  /** Messages, warnings, errors (stderr). */
  err(text: string): void;
}

/**
 * A command's exit code: 0 success, 1 failure, 2 usage error; 3 a finding (an audit chain broken,
 * an invalid credential); 4 something could not be checked (`credentials revalidate`).
 */
export type ExitCode = 0 | 1 | 2 | 3 | 4;

/** A mistake in the command line: reported with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A refusal with a message for the operator (never a key, never a database password): exit 1. */
export class CliError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}
