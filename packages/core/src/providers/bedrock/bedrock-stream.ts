import type { Message, MessageHeaders } from '@smithy/eventstream-codec';
import { ProviderUnavailableError } from '../../errors.js';
import type { FinishReason, StreamEvent } from '../../types/index.js';
import { safeJson } from '../http-call.js';
import {
  bedrockError,
  normaliseErrorType,
  readBedrockError,
  STREAM_EXCEPTION_STATUS,
} from './bedrock-errors.js';
import { type BedrockUsage, fromBedrockUsage, mapBedrockStopReason } from './from-bedrock-response.js';

export interface BedrockStreamContext {
  provider: string;
  /** The `x-amzn-requestid` header, or a generated id: ConverseStream sends no response id. */
  id: string;
  model: string;
}

interface ContentBlockPayload {
  contentBlockIndex?: number;
  start?: { toolUse?: { toolUseId?: string; name?: string } };
  delta?: {
    text?: string;
    toolUse?: { input?: string };
    reasoningContent?: { text?: string };
  };
}

/**
 * Maps decoded ConverseStream events to neutral stream events.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 *
 * Live order is `messageStart` → per block (`contentBlockStart` for tool use only) →
 * `contentBlockDelta`* → `contentBlockStop` → `messageStop` (stop reason) → `metadata` (usage).
 * Some recordings put `metadata` before `messageStop` or omit `messageStart`, so `start` is
 * emitted on the first event of any kind and `finish` once both `messageStop` and `metadata`
 * have arrived. A body that ends before both is a cut stream and throws.
 * Exception frames (`:message-type: exception`) become typed errors.
 */
export async function* fromBedrockStream(
  messages: AsyncIterable<Message>,
  context: BedrockStreamContext,
): AsyncGenerator<StreamEvent> {
  const { provider } = context;
  let started = false;
  let stopReason: FinishReason | undefined;
  let sawMetadata = false;
  let finished = false;
  // Converse numbers content blocks across text, reasoning and tool use; neutral tool-call
  // indexes count tool calls only.
  const toolIndexByBlock = new Map<number, number>();
  const toolHasArguments = new Map<number, boolean>();

  for await (const message of messages) {
    const messageType = header(message.headers, ':message-type');
    if (messageType === 'exception') throw streamException(provider, message);
    if (messageType === 'error') {
      throw new ProviderUnavailableError(`${provider} reported an error in the stream`, {
        provider,
        providerCode: normaliseErrorType(header(message.headers, ':error-code')),
      });
    }
    if (finished) continue;
    const eventType = header(message.headers, ':event-type');
    const payload = parsePayload(provider, message.body);
    if (!started) {
      started = true;
      yield { type: 'start', id: context.id, model: context.model };
    }
    switch (eventType) {
      case 'contentBlockStart': {
        const { contentBlockIndex: block = 0, start } = payload as ContentBlockPayload;
        if (start?.toolUse) {
          const index = toolIndexByBlock.size;
          toolIndexByBlock.set(block, index);
          toolHasArguments.set(block, false);
          yield {
            type: 'tool-call-delta',
            index,
            id: start.toolUse.toolUseId ?? '',
            name: start.toolUse.name ?? '',
            argumentsDelta: '',
          };
        }
        break;
      }
      case 'contentBlockDelta': {
        const { contentBlockIndex: block = 0, delta } = payload as ContentBlockPayload;
        if (typeof delta?.text === 'string' && delta.text !== '') {
          yield { type: 'text-delta', delta: delta.text };
        }
        const reasoning = delta?.reasoningContent?.text;
        if (typeof reasoning === 'string' && reasoning !== '')
          yield { type: 'reasoning-delta', delta: reasoning };
        const input = delta?.toolUse?.input;
        const index = toolIndexByBlock.get(block);
        if (typeof input === 'string' && input !== '' && index !== undefined) {
          toolHasArguments.set(block, true);
          yield { type: 'tool-call-delta', index, argumentsDelta: input };
        }
        break;
      }
      case 'contentBlockStop': {
        const { contentBlockIndex: block = 0 } = payload as ContentBlockPayload;
        const index = toolIndexByBlock.get(block);
        // A tool without arguments streams only `""`; close it as `{}` so the assembled call
        // matches what the non-streamed Converse returns.
        if (index !== undefined && toolHasArguments.get(block) === false) {
          toolHasArguments.set(block, true);
          yield { type: 'tool-call-delta', index, argumentsDelta: '{}' };
        }
        break;
      }
      case 'messageStop':
        stopReason = mapBedrockStopReason((payload as { stopReason?: string }).stopReason);
        break;
      case 'metadata': {
        sawMetadata = true;
        const usage = (payload as { usage?: BedrockUsage }).usage;
        if (usage) yield { type: 'usage', usage: fromBedrockUsage(usage) };
        break;
      }
      default:
        // messageStart carries only the role; unknown future events are skipped.
        break;
    }
    if (stopReason !== undefined && sawMetadata) {
      finished = true;
      yield { type: 'finish', finishReason: stopReason };
    }
  }
  if (!finished) {
    throw new ProviderUnavailableError(`${provider} stream ended before completion`, { provider });
  }
}

function header(headers: MessageHeaders, name: string): string | undefined {
  const value = headers[name];
  return value?.type === 'string' ? value.value : undefined;
}

/** UTF-8 text of a whole event payload (no ICU converter per event, unlike a new TextDecoder). */
function utf8(body: Uint8Array): string {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

function parsePayload(provider: string, body: Uint8Array): Record<string, unknown> {
  const parsed = safeJson(utf8(body));
  if (parsed === null || typeof parsed !== 'object') {
    throw new ProviderUnavailableError(`${provider} sent an event that is not JSON`, { provider });
  }
  return parsed as Record<string, unknown>;
}

/** `:exception-type: throttlingException` with `{"message":"…"}` → the matching typed error. */
function streamException(provider: string, message: Message) {
  const type = header(message.headers, ':exception-type');
  const info = readBedrockError(safeJson(utf8(message.body)), {
    ...(type ? { 'x-amzn-errortype': type } : {}),
  });
  const code = info.providerCode;
  const status = (code && STREAM_EXCEPTION_STATUS[code]) || 500;
  return bedrockError(provider, status, {}, info);
}
