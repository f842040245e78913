import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const MAIN = 'packages/gateway/src/cli/main.ts';

/** The environment a spawned `keyhold` gets: ours minus anything that would pick a store or key. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'DATABASE_URL',
    'KEYHOLD_MASTER_KEYS',
    'KEYHOLD_MASTER_KEYS_FILE',
    'KEYHOLD_DATA_DIR',
    'REDIS_URL',
  ]) {
    delete env[name];
  }
  return { ...env, KEYHOLD_LOG_LEVEL: 'warn', ...extra };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a `keyhold` command to its end, from the source (the way CI runs it). */
export function runKeyhold(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawnKeyhold(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keyhold ${args.join(' ')} did not finish\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

export function spawnKeyhold(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--conditions=@keyhold/source', '--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface RunningServer {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `keyhold serve …` and resolves once it prints the URL it listens on. */
export function startServe(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<RunningServer> {
  const child = spawnKeyhold(['serve', '--port', '0', ...args], env);
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keyhold serve did not start\n${out}\n${err}`));
    }, timeoutMs);
    const check = () => {
      const match = /Keyhold is running at (http:\/\/[\d.:]+)/.exec(out);
      // Wait for the banner's last line.
      if (match && /Or point any OpenAI client|--tenant <tenant id>/.test(out.slice(match.index))) {
        clearTimeout(timer);
        resolve({
          child,
          url: match[1]!,
          stdout: () => out,
          stderr: () => err,
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      check();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d;
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`keyhold serve exited with ${code}\n${out}\n${err}`));
    });
  });
}
