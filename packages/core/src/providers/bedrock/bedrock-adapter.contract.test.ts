import { describeAdapterContract } from '../../../test/support/adapter-contract.js';
import type { RecordedRequest } from '../../../test/support/upstream-server.js';
import { converseText, sendAwsError, sendConverse } from './testing/bedrock-wire.js';

/** The last user message's text, as the Converse body carries it. */
function lastUserText(request: RecordedRequest): string {
  const messages = (request.body?.messages ?? []) as { role: string; content: { text?: string }[] }[];
  const last = messages.filter((m) => m.role === 'user').at(-1);
  return last?.content.find((block) => typeof block.text === 'string')?.text ?? '';
}

// The shared invariants with the Bedrock API key form (Bearer). The SigV4 form has its own suite
// in bedrock-sigv4.test.ts.
describeAdapterContract(
  {
    provider: 'bedrock',
    model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    keyPrefix: 'ABSK',
    engineOptions: (url) => ({ baseURL: url }),
    material: (key) => ({ apiKey: key, region: 'us-east-1' }),
    env: (key) => ({ AWS_BEARER_TOKEN_BEDROCK: key, AWS_REGION: 'us-east-1' }),
    keyOf: (request) => {
      const value = request.headers.authorization;
      return typeof value === 'string' && value.startsWith('Bearer ')
        ? value.slice('Bearer '.length)
        : undefined;
    },
    replyText: (_request, res, text) => sendConverse(res, converseText(text)),
    // The contract asks for a 401. Bedrock's own answer to a bad key is usually a 403 with the
    // same body (covered in bedrock-errors.test.ts); the type header is what classifies it.
    replyUnauthorized: (_request, res, key) =>
      sendAwsError(res, 401, 'UnrecognizedClientException', {
        message: `The security token included in the request is invalid: ${key.slice(0, 12)}…${key.slice(-6)}`,
      }),
  },
  lastUserText,
);
