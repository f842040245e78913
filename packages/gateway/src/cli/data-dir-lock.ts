import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One process at a time per embedded data directory: PGlite is an in-process PostgreSQL, and two
 * processes writing the same files corrupt them. The lock is a pid file created exclusively; a
 * file whose process is gone is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'keyhold.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readPid(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(path);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new DataDirBusyError(dataDir, holder);
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirBusyError(dataDir, undefined);
}

export class DataDirBusyError extends Error {
  constructor(dataDir: string, pid: number | undefined) {
    super(
      `The data directory ${dataDir} is in use by another keyhold process${pid ? ` (pid ${pid})` : ''}. ` +
        'The embedded store serves one process: stop it first, or run Keyhold on PostgreSQL (DATABASE_URL), ' +
        'where every command works while the gateway serves.',
    );
    this.name = 'DataDirBusyError';
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
