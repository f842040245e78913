import { describeAdapterContract } from '../../../test/support/adapter-contract.js';
import { type RecordedRequest, sendJson } from '../../../test/support/upstream-server.js';
import { geminiFixture, geminiTextBody } from './testing/gemini-fixtures.js';

/** The text of the last user turn's last text part, as the Gemini body carries it. */
function lastUserText(request: RecordedRequest): string {
  const contents = (request.body?.contents ?? []) as { role: string; parts: { text?: string }[] }[];
  const last = contents.filter((c) => c.role === 'user').at(-1);
  return last?.parts.findLast((p) => typeof p.text === 'string')?.text ?? '';
}

/**
 * The key as Google reads it: the `x-goog-api-key` header. Google also accepts `?key=`, which
 * Keyhold must never use (URLs end up in logs), so a key in the URL fails the test outright.
 */
function keyOf(request: RecordedRequest): string | undefined {
  const header = request.headers['x-goog-api-key'];
  const key = typeof header === 'string' ? header : undefined;
  if (request.query.has('key') || (key && decodeURIComponent(request.url).includes(key))) {
    throw new Error('the API key was sent in the request URL');
  }
  return key;
}

describeAdapterContract(
  {
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    keyPrefix: 'AIza',
    engineOptions: (url) => ({ baseURL: url }),
    material: (key) => key,
    env: (key) => ({ GEMINI_API_KEY: key }),
    keyOf,
    replyText: (request, res, text) => {
      keyOf(request);
      sendJson(res, 200, geminiTextBody(text));
    },
    // The contract asks for a 401: Google's UNAUTHENTICATED body. Its message is made to quote the
    // request URL with the key, as Google's messages can when a key travels as `?key=`. (Gemini's
    // usual answer to a bad key, a 400 API_KEY_INVALID, is covered in gemini-errors.test.ts.)
    replyUnauthorized: (request, res, key) => {
      const body = geminiFixture('gemini-401-unauthenticated.json');
      body.error.message += ` (${request.path}?key=${key}; key ${key.slice(0, 10)}…${key.slice(-6)})`;
      sendJson(res, 401, body);
    },
  },
  lastUserText,
);
