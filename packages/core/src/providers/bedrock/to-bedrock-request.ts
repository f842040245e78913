import { InvalidRequestError } from '../../errors.js';
import type {
  ChatRequest,
  ContentPart,
  ImagePart,
  Message,
  ResponseFormat,
  ToolChoice,
} from '../../types/index.js';

/**
 * The Converse / ConverseStream request body (the model id travels in the URL, not the body).
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 */
export interface BedrockConverseRequest {
  messages: BedrockMessage[];
  system?: { text: string }[];
  inferenceConfig?: {
    maxTokens?: number;
    temperature?: number;
    topP?: number;
    stopSequences?: string[];
  };
  toolConfig?: {
    tools: { toolSpec: { name: string; description?: string; inputSchema: { json: unknown } } }[];
    toolChoice?:
      | { auto: Record<string, never> }
      | { any: Record<string, never> }
      | { tool: { name: string } };
  };
}

export interface BedrockMessage {
  role: 'user' | 'assistant';
  content: BedrockContentBlock[];
}

export type BedrockImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

export type BedrockContentBlock =
  | { text: string }
  | { image: { format: BedrockImageFormat; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: ({ text: string } | { json: unknown })[] } };

const IMAGE_FORMATS: Readonly<Record<string, BedrockImageFormat>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/**
 * Maps a neutral chat request to a Converse body.
 *
 * Converse has no native field for some neutral options; what happens to them:
 * - `responseFormat` json / json_schema: Converse has no JSON mode, so the instruction goes into an
 *   extra system block (the schema included). The model is asked, not forced: callers who need a
 *   guarantee should validate the answer.
 * - `seed`, `user`, `parallelToolCalls` and a user message's `name`: no Converse field; dropped.
 * - `toolChoice: 'none'`: `toolConfig` is omitted (Converse has no "none" choice). Bedrock then
 *   rejects a history that still holds tool blocks, which surfaces as an `InvalidRequestError`.
 *
 * @example
 * const body = toBedrockRequest('bedrock', { model: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: 'Hi' }] });
 * // { messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }
 */
export function toBedrockRequest(provider: string, request: ChatRequest): BedrockConverseRequest {
  const system = request.messages
    .filter((m): m is Extract<Message, { role: 'system' }> => m.role === 'system')
    .map((m) => ({ text: m.content }));
  const jsonInstruction = jsonOutputInstruction(request.responseFormat);
  if (jsonInstruction) system.push({ text: jsonInstruction });

  const body: BedrockConverseRequest = { messages: toMessages(provider, request.messages) };
  if (system.length > 0) body.system = system;

  const inference: NonNullable<BedrockConverseRequest['inferenceConfig']> = {};
  if (request.maxTokens !== undefined) inference.maxTokens = request.maxTokens;
  if (request.temperature !== undefined) inference.temperature = request.temperature;
  if (request.topP !== undefined) inference.topP = request.topP;
  if (request.stop && request.stop.length > 0) inference.stopSequences = request.stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;

  const toolConfig = toToolConfig(request);
  if (toolConfig) body.toolConfig = toolConfig;
  return body;
}

/** Converse alternates user and assistant turns; tool results are user content. */
function toMessages(provider: string, messages: Message[]): BedrockMessage[] {
  const out: BedrockMessage[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const content = toContent(provider, message);
    if (content.length === 0) continue;
    const last = out.at(-1);
    // Bedrock rejects two consecutive messages of the same role: merge them into one.
    if (last && last.role === role) last.content.push(...content);
    else out.push({ role, content });
  }
  return out;
}

function toContent(provider: string, message: Exclude<Message, { role: 'system' }>): BedrockContentBlock[] {
  switch (message.role) {
    case 'user':
      if (typeof message.content === 'string') return [{ text: message.content }];
      return message.content.map((part) => toUserPart(provider, part));
    case 'assistant': {
      const blocks: BedrockContentBlock[] = [];
      // Bedrock rejects blank text blocks, which a tool-calling turn often has.
      if (message.content) blocks.push({ text: message.content });
      for (const call of message.toolCalls ?? []) {
        blocks.push({
          toolUse: { toolUseId: call.id, name: call.name, input: parseToolInput(provider, call) },
        });
      }
      return blocks;
    }
    case 'tool':
      return [
        { toolResult: { toolUseId: message.toolCallId, content: [toToolResultContent(message.content)] } },
      ];
  }
}

function toUserPart(provider: string, part: ContentPart): BedrockContentBlock {
  if (part.type === 'text') return { text: part.text };
  return { image: toImage(provider, part) };
}

/** Converse takes images only as bytes (or S3 locations), never as http(s) URLs. */
function toImage(
  provider: string,
  part: ImagePart,
): { format: BedrockImageFormat; source: { bytes: string } } {
  let data = part.data;
  let mediaType = part.mediaType;
  if (part.url !== undefined && data === undefined) {
    const match = /^data:([^;,]+)(;[^,]*)?,(.*)$/s.exec(part.url);
    if (!match) {
      throw new InvalidRequestError(
        `${provider} accepts images only as bytes: pass a data: URL or base64 data, not an http(s) image URL`,
        { provider },
      );
    }
    mediaType = match[1];
    const isBase64 = (match[2] ?? '').split(';').includes('base64');
    data = isBase64 ? match[3] : percentDecodedBase64(provider, match[3] ?? '');
  }
  const format = mediaType ? IMAGE_FORMATS[mediaType.toLowerCase()] : undefined;
  if (!data || !format) {
    throw new InvalidRequestError(
      `${provider} accepts png, jpeg, gif and webp images given as base64 data with a media type`,
      { provider },
    );
  }
  return { format, source: { bytes: data } };
}

/** A data: URL without `;base64` carries percent-encoded bytes. */
function percentDecodedBase64(provider: string, text: string): string {
  try {
    return Buffer.from(decodeURIComponent(text), 'utf8').toString('base64');
  } catch {
    throw new InvalidRequestError('An image data: URL is not correctly percent-encoded', { provider });
  }
}

/** Tool arguments stay JSON text in Keyhold; Converse wants the parsed object. */
function parseToolInput(provider: string, call: { name: string; arguments: string }): unknown {
  if (call.arguments.trim() === '') return {};
  try {
    return JSON.parse(call.arguments);
  } catch {
    throw new InvalidRequestError(`The arguments of a "${call.name}" tool call are not valid JSON`, {
      provider,
    });
  }
}

/** A result that is a JSON object goes as a `json` block, anything else as text. */
function toToolResultContent(content: string): { text: string } | { json: unknown } {
  const trimmed = content.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return { json: parsed };
    } catch {
      // Not JSON after all: send the text as it is.
    }
  }
  return { text: content };
}

function toToolConfig(request: ChatRequest): BedrockConverseRequest['toolConfig'] {
  if (!request.tools || request.tools.length === 0 || request.toolChoice === 'none') return undefined;
  const tools = request.tools.map((tool) => ({
    toolSpec: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      inputSchema: { json: tool.parameters },
    },
  }));
  const toolChoice = toToolChoice(request.toolChoice);
  return toolChoice ? { tools, toolChoice } : { tools };
}

function toToolChoice(
  choice: ToolChoice | undefined,
): NonNullable<BedrockConverseRequest['toolConfig']>['toolChoice'] {
  if (choice === undefined || choice === 'none') return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.name } };
}

function jsonOutputInstruction(format: ResponseFormat | undefined): string | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json') return 'Respond only with a valid JSON object, and nothing else.';
  return [
    `Respond only with a valid JSON object that matches the JSON schema "${format.name}", and nothing else.`,
    ...(format.description ? [`Schema description: ${format.description}`] : []),
    `JSON schema: ${JSON.stringify(format.schema)}`,
  ].join('\n');
}
