import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { type SseOptions, sendJson, sendSse } from '../../../../test/support/upstream-server.js';

const dir = new URL('../__fixtures__/', import.meta.url);

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, dir), 'utf8');
}

export function fixtureJson(name: string): any {
  return JSON.parse(fixtureText(name));
}

/** One `data:` event per line of a `.chunks.txt` fixture, then `data: [DONE]` as OpenAI sends. */
export function chunkEvents(name: string, options: { done?: boolean } = {}): { data: string }[] {
  const lines = fixtureText(name)
    .split('\n')
    .filter((l) => l.trim() !== '');
  const events = lines.map((data) => ({ data }));
  return options.done === false ? events : [...events, { data: '[DONE]' }];
}

export function serveChunks(
  res: ServerResponse,
  name: string,
  options: SseOptions & { done?: boolean } = {},
) {
  return sendSse(res, chunkEvents(name, options), options);
}

/** OpenAI's 401 for a bad key quotes the key's first and last characters, as the real API does. */
export function replyOpenAI401(res: ServerResponse, key: string): void {
  const echo = `${key.slice(0, 8)}${'*'.repeat(10)}${key.slice(-4)}`;
  const body = fixtureText('openai-401.json').replace('{{KEY_ECHO}}', echo);
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end(body);
}

/** A chat completion whose text is `text`, in OpenAI's exact shape. */
export function completionWithText(text: string, model = 'gpt-4.1-nano'): unknown {
  const body = fixtureJson('openai-text.json');
  body.model = model;
  body.choices[0].message.content = text;
  return body;
}

export { sendJson };
