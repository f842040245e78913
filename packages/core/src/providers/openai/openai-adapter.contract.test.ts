import { describeAdapterContract } from '../../../test/support/adapter-contract.js';
import type { RecordedRequest } from '../../../test/support/upstream-server.js';
import {
  completionWithText,
  fixtureJson,
  lastUserText,
  replyFixture,
  replyOpenAI401,
  sendJson,
} from './testing/openai-fixtures.js';

const bearer = (req: RecordedRequest) => req.headers.authorization?.replace(/^Bearer /, '');

describeAdapterContract(
  {
    provider: 'openai',
    model: 'gpt-4.1-nano',
    keyPrefix: 'sk-proj',
    engineOptions: (url) => ({ baseURL: `${url}/v1` }),
    material: (key) => key,
    env: (key) => ({ OPENAI_API_KEY: key }),
    keyOf: bearer,
    replyText: (_req, res, text) => sendJson(res, 200, completionWithText(text)),
    replyUnauthorized: (_req, res, key) => replyOpenAI401(res, key),
  },
  (req) => lastUserText(req.body),
);

// Mistral: a compatible preset with its own body shapes (tool calls without type, top-level errors).
describeAdapterContract(
  {
    provider: 'mistral',
    model: 'mistral-large-latest',
    engineOptions: (url) => ({ baseURL: `${url}/v1` }),
    material: (key) => key,
    env: (key) => ({ MISTRAL_API_KEY: key }),
    keyOf: bearer,
    replyText: (_req, res, text) => {
      const body = fixtureJson('mistral-tool-call.json');
      body.choices[0].message = { role: 'assistant', content: text, tool_calls: null };
      body.choices[0].finish_reason = 'stop';
      sendJson(res, 200, body);
    },
    replyUnauthorized: (_req, res) => replyFixture(res, 401, 'mistral-401.json'),
  },
  (req) => lastUserText(req.body),
);
