import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { AdapterHarness } from '../../../../test/support/adapter-contract.js';
import {
  type RecordedRequest,
  type SseOptions,
  sendJson,
  sendSse,
} from '../../../../test/support/upstream-server.js';
import { createEngine, type Engine } from '../../../index.js';

const FIXTURES = new URL('../__fixtures__/', import.meta.url);

/** A recorded-style non-streamed body from `__fixtures__/`. */
export function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
}

/**
 * A stream fixture (one JSON event per line) as Anthropic puts it on the wire: each event with an
 * `event:` line naming its `type`.
 */
export function fixtureEvents(name: string): { event: string; data: string }[] {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => ({ event: (JSON.parse(line) as { type: string }).type, data: line }));
}

/** Serves a stream fixture (optionally cut after some events) with Anthropic's headers. */
export function sendFixtureStream(
  res: ServerResponse,
  name: string,
  options: SseOptions = {},
): Promise<void> {
  return sendSse(res, fixtureEvents(name), {
    ...options,
    headers: { 'request-id': 'req_011CStreamTest', ...options.headers },
  });
}

/** Anthropic's error envelope with this type and message. */
export function errorBody(type: string, message: string): Record<string, unknown> {
  return { type: 'error', error: { type, message }, request_id: 'req_011CTestErrorBody' };
}

/** The text of the last user turn's last text block, as Anthropic received it. */
export function lastUserText(request: RecordedRequest): string {
  const turns = (request.body?.messages ?? []) as {
    role: string;
    content: { type: string; text?: string }[];
  }[];
  const user = turns.filter((t) => t.role === 'user').at(-1);
  return user?.content.filter((b) => b.type === 'text').at(-1)?.text ?? '';
}

export const MODEL = 'claude-sonnet-4-5';

/** An engine pointed at a local upstream. */
export function anthropicEngine(upstreamUrl: string): Engine {
  return createEngine({ provider: 'anthropic', model: MODEL, options: { baseURL: upstreamUrl } });
}

/** The shared contract's view of Anthropic: the key travels in `x-api-key`. */
export const anthropicHarness: AdapterHarness = {
  provider: 'anthropic',
  model: MODEL,
  keyPrefix: 'sk-ant-api03',
  engineOptions: (url) => ({ baseURL: url }),
  material: (key) => key,
  env: (key) => ({ ANTHROPIC_API_KEY: key }),
  keyOf: (request) => {
    const value = request.headers['x-api-key'];
    return typeof value === 'string' ? value : undefined;
  },
  replyText(_request, res, text) {
    sendJson(res, 200, { ...fixtureJson('text.json'), content: [{ type: 'text', text }] });
  },
  replyUnauthorized(_request, res, key) {
    // Anthropic itself answers "invalid x-api-key"; this one echoes the key's ends the way other
    // providers do, to prove that no fragment survives into the error.
    sendJson(
      res,
      401,
      errorBody('authentication_error', `invalid x-api-key: ${key.slice(0, 14)}…${key.slice(-8)} (${key})`),
      { 'request-id': 'req_011CAuthTest' },
    );
  },
};
