import { describeAdapterContract } from '../../../test/support/adapter-contract.js';
import { completionWithText, fixturesIn, lastUserText, sendJson } from '../openai/testing/openai-fixtures.js';

const azure = fixturesIn(new URL('./__fixtures__/', import.meta.url));

describeAdapterContract(
  {
    provider: 'azure',
    model: 'gpt-4o',
    keyPrefix: 'azk',
    engineOptions: (url) => ({ endpoint: url, deployment: 'chat-prod', apiVersion: '2024-10-21' }),
    material: (key) => key,
    env: (key, url) => ({
      AZURE_OPENAI_API_KEY: key,
      AZURE_OPENAI_ENDPOINT: url,
      OPENAI_API_VERSION: '2024-10-21',
      AZURE_OPENAI_DEPLOYMENT: 'chat-prod',
    }),
    // Azure reads its key from `api-key`; an Authorization header would be someone else's.
    keyOf: (req) => (req.headers.authorization ? undefined : (req.headers['api-key'] as string | undefined)),
    replyText: (_req, res, text) => sendJson(res, 200, completionWithText(text, 'gpt-4o-2024-11-20')),
    replyUnauthorized: (_req, res) => azure.reply(res, 401, 'azure-401.json'),
  },
  (req) => lastUserText(req.body),
);
