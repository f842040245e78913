export const BENCH_PRICE: {
  provider: string;
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
};
export function benchModelsFile(aliases?: Record<string, string>): Record<string, unknown>;
export function benchTenant(credential: Record<string, unknown>): {
  name: string;
  settings: Record<string, unknown>;
  credential: Record<string, unknown>;
};
export interface ProcessCpu {
  /** User + system CPU seconds, every thread. */
  seconds: number;
  user: number;
  system: number;
  /** The main thread's context switches so far. */
  voluntarySwitches: number;
  involuntarySwitches: number;
}
export function processCpu(pid: number): ProcessCpu;
