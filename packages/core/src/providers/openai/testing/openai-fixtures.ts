import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { type SseOptions, sendJson, sendSse } from '../../../../test/support/upstream-server.js';
import type { SseEvent } from '../../../transport/sse.js';

/** Fixture readers for one `__fixtures__/` folder (the OpenAI one by default; Azure has its own). */
export function fixturesIn(dir: URL) {
  const text = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
  /** One `data:` event per line of a `.chunks.txt` fixture, then `data: [DONE]` as OpenAI sends. */
  const events = (name: string, options: { done?: boolean } = {}): { data: string }[] => {
    const lines = text(name)
      .split('\n')
      .filter((l) => l.trim() !== '');
    const data = lines.map((line) => ({ data: line }));
    return options.done === false ? data : [...data, { data: '[DONE]' }];
  };
  return {
    text,
    // biome-ignore lint/suspicious/noExplicitAny: tests reshape fixture bodies freely.
    json: (name: string): any => JSON.parse(text(name)),
    events,
    /** Serves a stream fixture over SSE (optionally cut after some events, or without `[DONE]`). */
    serve: (res: ServerResponse, name: string, options: SseOptions & { done?: boolean } = {}) =>
      sendSse(res, events(name, options), options),
    /** Serves a JSON fixture with an HTTP status, as the provider does. */
    reply: (res: ServerResponse, status: number, name: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text(name));
    },
  };
}

const openai = fixturesIn(new URL('../__fixtures__/', import.meta.url));
export const fixtureText = openai.text;
export const fixtureJson = openai.json;
export const chunkEvents = openai.events;
export const serveChunks = openai.serve;
export const replyFixture = openai.reply;

/** SSE events in the batches the adapter reads, for the pure stream mapper (one event per batch). */
export async function* batchesOf(
  events: readonly { event?: string; data: string }[],
): AsyncGenerator<SseEvent[]> {
  for (const e of events) yield [{ event: e.event, data: e.data }];
}

/** OpenAI's 401 for a bad key quotes the key's first and last characters, as the real API does. */
export function replyOpenAI401(res: ServerResponse, key: string): void {
  const echo = `${key.slice(0, 8)}${'*'.repeat(10)}${key.slice(-4)}`;
  const body = fixtureText('openai-401.json').replace('{{KEY_ECHO}}', echo);
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end(body);
}

/** DeepSeek's 401 quotes the key's last four characters. */
export function replyDeepSeek401(res: ServerResponse, key: string): void {
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end(fixtureText('deepseek-401.json').replace('{{KEY_TAIL}}', key.slice(-4)));
}

/** A chat completion whose text is `text`, in OpenAI's exact shape. */
export function completionWithText(text: string, model = 'gpt-4.1-nano-2025-04-14'): unknown {
  const body = fixtureJson('openai-text.json');
  body.model = model;
  body.choices[0].message.content = text;
  return body;
}

/** The text of the last user message in a Chat Completions request body (the contract's marker). */
export function lastUserText(body: unknown): string {
  const messages = (body as { messages?: { role: string; content: unknown }[] } | undefined)?.messages ?? [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

export { sendJson };
