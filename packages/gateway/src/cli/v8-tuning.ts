import { setFlagsFromString } from 'node:v8';

/** The V8 flag `keyhold serve` sets, and the one that keeps V8's default instead. */
const NO_PRETENURING = '--no-allocation-site-pretenuring';
const KEEP_PRETENURING = '--allocation-site-pretenuring';

/**
 * Turns off V8's allocation-site pretenuring for a serving gateway process, unless the operator's
 * own node flags name it either way.
 *
 * Why: under load V8 sees most objects of some allocation sites survive a scavenge (a request's
 * objects live across one when the young generation fills mid-request) and starts allocating those
 * sites' objects in the old generation. Those old objects keep the young ones they point to alive
 * through every scavenge until the next major GC, which tenures more sites: a gateway promoted
 * ~1.1 MB per scavenge at 8 connections (~3.5 KB per request), ~0.24 MB without pretenuring, and
 * its scavenge pauses fell from ~3.5 to ~1.5 ms. A request's objects are short-lived by design
 * (queued ledger rows are kept off the heap), so they are best left to die young. Measured with
 * `bench/ab-repeat.mjs`: 2–10 % more throughput (bench/README.md, machine Q).
 *
 * Only the CLI calls this: a library user embedding `createGateway` keeps its process's flags.
 */
export function tuneV8ForServing(execArgv: readonly string[] = process.execArgv): boolean {
  const named = execArgv.some((arg) => {
    const flag = arg.replaceAll('_', '-');
    return flag === NO_PRETENURING || flag === KEEP_PRETENURING;
  });
  if (named) return false;
  setFlagsFromString(NO_PRETENURING);
  return true;
}
