/**
 * @keyhold/core throughput vs raw undici, measured in one run against the same local upstream.
 *
 *   npm run bench:core -- [--seconds 2] [--concurrency 16] [--rounds 7]
 *
 * The upstream (bench/mock-openai.mjs) runs in its own process. Each round measures the baseline
 * (undici `request` + reading the whole body, or iterating the stream bytes) and the library
 * (`generate`, or `stream` folded by iterating every event) back to back, alternating order, and
 * the printed ratio is the median over rounds of library req/s ÷ baseline req/s (target ≥ 0.9).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createEngine, createUndiciTransport, generate, stream } from '@keyhold/core';
import { createParser } from 'eventsource-parser';
import { Agent } from 'undici';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '7' },
    // Pin the upstream and this process to different cores (taskset), so the ratio measures the
    // client's own CPU cost rather than how the two processes share one core. '' disables it.
    'mock-cpu': { type: 'string', default: '0' },
    'client-cpu': { type: 'string', default: '1' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
// Not a provider key: the local mock only checks that a Bearer token is present.
const KEY = 'bench-throwaway-token-not-a-key';

async function startMock(): Promise<{ url: string; stop: () => void }> {
  const script = new URL('./mock-openai.mjs', import.meta.url).pathname;
  const pin = values['mock-cpu'] && hasTaskset();
  const child = pin
    ? spawn('taskset', ['-c', values['mock-cpu']!, process.execPath, script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return { url: JSON.parse(line).url, stop: () => child.kill() };
}

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

/** Calls per second, and this process's CPU time per call in µs (the mock runs elsewhere). */
async function measure(run: () => Promise<void>): Promise<{ rate: number; cpu: number }> {
  // Warm up connections and JIT before the timed window.
  await Promise.all(Array.from({ length: CONCURRENCY }, () => run()));
  let done = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await run();
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return { rate: done / ((performance.now() - started) / 1000), cpu: (cpu.user + cpu.system) / done };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  if (values['client-cpu'] && hasTaskset())
    spawnSync('taskset', ['-pc', values['client-cpu'], String(process.pid)]);
  const mock = await startMock();
  const body = (streaming: boolean) =>
    JSON.stringify({
      model: 'gpt-bench',
      messages: [{ role: 'user', content: 'Say something short.' }],
      ...(streaming ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
  const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
  const origin = new URL(mock.url).origin;
  // Baselines: `bytes` reads the stream's bytes and nothing else (the floor of any client);
  // `parsed` also splits the SSE events and JSON-parses each one, which is the least a client that
  // uses a streamed answer must do, and what non-streamed calls do with their one JSON body.
  const raw =
    (streaming: boolean, parse = true) =>
    async () => {
      const res = await agent.request({
        origin,
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: body(streaming),
      });
      if (streaming && !parse) {
        for await (const _ of res.body) {
          // read every byte as it arrives
        }
      } else if (streaming) {
        const parser = createParser({
          onEvent(message) {
            if (message.data !== '[DONE]') JSON.parse(message.data);
          },
        });
        const decoder = new TextDecoder();
        for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
      } else {
        JSON.parse(await res.body.text());
      }
    };
  const engine = createEngine({
    provider: 'openai',
    model: 'gpt-bench',
    options: { baseURL: `${mock.url}/v1` },
  });
  const transport = createUndiciTransport({ connections: 128 });
  const messages = [{ role: 'user' as const, content: 'Say something short.' }];
  const lib =
    (streaming: boolean, batched = false) =>
    async () => {
      if (streaming && batched) {
        // The batch reader (`ChatStream.batches()`): the events of one body chunk at a time, the way
        // the gateway forwards them; every event is still parsed, mapped and handed over.
        for await (const batch of stream(engine, { messages }, { apiKey: KEY, transport }).batches()) {
          for (const _ of batch) {
            // consume every event
          }
        }
      } else if (streaming) {
        for await (const _ of stream(engine, { messages }, { apiKey: KEY, transport })) {
          // consume every event
        }
      } else {
        await generate(engine, { messages }, { apiKey: KEY, transport });
      }
    };

  console.log(
    `@keyhold/core vs raw undici — ${SECONDS}s per run, ${CONCURRENCY} concurrent, ${ROUNDS} rounds, ` +
      `pinning mock=${values['mock-cpu'] || 'off'} client=${values['client-cpu'] || 'off'}`,
  );
  console.log(
    '          mode   undici req/s    core req/s   ratio   CPU µs/call undici   core   CPU ratio (undici ÷ core)',
  );
  const runs: {
    mode: string;
    baseline: string;
    base: () => () => Promise<void>;
    core: () => () => Promise<void>;
  }[] = [
    { mode: 'nonstream', baseline: 'undici + JSON.parse', base: () => raw(false), core: () => lib(false) },
    { mode: 'stream', baseline: 'undici + SSE parse', base: () => raw(true), core: () => lib(true) },
    {
      mode: 'stream/batches',
      baseline: 'undici + SSE parse',
      base: () => raw(true),
      core: () => lib(true, true),
    },
    { mode: 'stream', baseline: 'undici bytes only', base: () => raw(true, false), core: () => lib(true) },
  ];
  const spreads: string[] = [];
  for (const run of runs) {
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const base: number[] = [];
    const core: number[] = [];
    const baseCpu: number[] = [];
    const coreCpu: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['base', 'core'] : ['core', 'base'];
      const r: Record<string, { rate: number; cpu: number }> = {};
      for (const which of order) r[which] = await measure(which === 'base' ? run.base() : run.core());
      base.push(r.base!.rate);
      core.push(r.core!.rate);
      baseCpu.push(r.base!.cpu);
      coreCpu.push(r.core!.cpu);
      ratios.push(r.core!.rate / r.base!.rate);
      cpuRatios.push(r.base!.cpu / r.core!.cpu);
    }
    console.log(
      `${run.mode.padStart(14)} ${median(base).toFixed(0).padStart(14)} ${median(core).toFixed(0).padStart(13)}   ${median(ratios).toFixed(2)}   ${median(baseCpu).toFixed(1).padStart(18)} ${median(coreCpu).toFixed(1).padStart(6)}   ${median(cpuRatios).toFixed(2).padStart(9)}   (baseline: ${run.baseline})`,
    );
    spreads.push(`${run.mode} vs ${run.baseline}: [${ratios.map((r) => r.toFixed(2)).join(', ')}]`);
  }
  console.log('per-round throughput ratios (library ÷ baseline), in order:');
  for (const line of spreads) console.log(`  ${line}`);
  mock.stop();
  await agent.close();
}

await main();
