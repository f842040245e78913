import { InvalidRequestError } from '../../errors.js';
import type {
  ChatRequest,
  ContentPart,
  ImagePart,
  JsonSchema,
  Message,
  ToolCall,
  ToolDefinition,
} from '../../types/index.js';

/**
 * Anthropic requires `max_tokens` on every request; this is what Keyhold sends when the caller
 * names none. Every current Claude model accepts at least this much output.
 */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * Added to the system prompt for `responseFormat: { type: 'json' }`: Anthropic has no JSON mode
 * without a schema (`output_config.format` needs one), so the model is asked in words.
 */
export const JSON_MODE_INSTRUCTION =
  'Respond only with a single valid JSON object: no text before or after it and no code fences.';

export type AnthropicImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string };

export type AnthropicContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: AnthropicImageSource }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string };

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicContentBlock[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: JsonSchema;
  strict?: boolean;
}

export type AnthropicToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

/** The body of `POST /v1/messages`. https://docs.claude.com/en/api/messages */
export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  system?: string;
  messages: AnthropicMessage[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  output_config?: { format: { type: 'json_schema'; schema: JsonSchema } };
  stream?: true;
}

/**
 * Neutral chat request → Anthropic Messages body.
 *
 * - System messages, wherever they stand, are joined into the top-level `system`.
 * - Tool results become `tool_result` blocks of a user turn; consecutive turns of one role are
 *   merged, because Anthropic requires user and assistant to alternate (several results after one
 *   assistant turn go into one user message, results first as Anthropic requires).
 * - Assistant tool calls become `tool_use` blocks whose `input` is the parsed arguments text. Text
 *   that is not a JSON object is refused with an `InvalidRequestError` rather than sent as `{}`:
 *   silently replacing arguments would rewrite the conversation history. Empty text and `null`
 *   (how some providers spell "no arguments") become `{}`.
 * - Dropped, for lack of an Anthropic equivalent: `seed`, a user message's `name`, an image's
 *   `detail`, and a JSON schema's `name` / `description` / `strict`.
 * - `responseFormat` `json_schema` → `output_config.format` (structured outputs, GA, no beta
 *   header); `json` → an instruction appended to the system prompt (`JSON_MODE_INSTRUCTION`).
 *
 * @example
 * toAnthropicRequest('anthropic', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }] });
 * // { model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }
 */
export function toAnthropicRequest(
  provider: string,
  request: ChatRequest,
  options: { stream?: boolean } = {},
): AnthropicRequest {
  const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
  if (request.responseFormat?.type === 'json') system.push(JSON_MODE_INSTRUCTION);
  const body: AnthropicRequest = {
    model: request.model,
    max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    messages: toAnthropicMessages(provider, request.messages),
  };
  const tools = request.tools ?? [];
  if (tools.length > 0) {
    body.tools = tools.map(toAnthropicTool);
    const choice = toAnthropicToolChoice(request);
    if (choice) body.tool_choice = choice;
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop && request.stop.length > 0) body.stop_sequences = request.stop;
  if (request.user !== undefined) body.metadata = { user_id: request.user };
  if (request.responseFormat?.type === 'json_schema') {
    body.output_config = { format: { type: 'json_schema', schema: request.responseFormat.schema } };
  }
  if (options.stream) body.stream = true;
  return body;
}

function toAnthropicMessages(provider: string, messages: Message[]): AnthropicMessage[] {
  const turns: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], content: AnthropicContentBlock[]) => {
    // An empty turn is rejected by Anthropic ("all messages must have non-empty content") and
    // says nothing; dropping it lets its neighbours merge.
    if (content.length === 0) return;
    const last = turns.at(-1);
    if (last && last.role === role) last.content.push(...content);
    else turns.push({ role, content: [...content] });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        push('user', toUserBlocks(provider, message.content));
        break;
      case 'assistant':
        push('assistant', [
          ...textBlock(message.content ?? ''),
          ...(message.toolCalls ?? []).map((call) => toToolUse(provider, call)),
        ]);
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
        break;
    }
  }
  for (const turn of turns) {
    // "tool_result blocks must come first in the content array" of a user turn; sort is stable.
    if (turn.role === 'user') turn.content.sort((a, b) => rank(a) - rank(b));
  }
  return turns;
}

function rank(block: AnthropicContentBlock): number {
  return block.type === 'tool_result' ? 0 : 1;
}

/** Anthropic rejects empty text blocks, so empty text produces none. */
function textBlock(text: string): AnthropicContentBlock[] {
  return text === '' ? [] : [{ type: 'text', text }];
}

function toUserBlocks(provider: string, content: string | ContentPart[]): AnthropicContentBlock[] {
  if (typeof content === 'string') return textBlock(content);
  return content.flatMap((part): AnthropicContentBlock[] =>
    part.type === 'text' ? textBlock(part.text) : [{ type: 'image', source: toImageSource(provider, part) }],
  );
}

/**
 * Anthropic takes images as base64 with a media type, or by http(s) URL. A `data:` URL is split
 * into the two; any other scheme cannot be fetched by Anthropic and is refused here.
 * https://docs.claude.com/en/docs/build-with-claude/vision
 */
export function toImageSource(provider: string, part: ImagePart): AnthropicImageSource {
  if (part.data !== undefined) {
    if (!part.mediaType) {
      throw new InvalidRequestError('An image given as base64 data needs a mediaType', { provider });
    }
    return { type: 'base64', media_type: part.mediaType, data: part.data };
  }
  const url = part.url ?? '';
  if (/^data:/i.test(url)) return fromDataUrl(provider, url);
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  throw new InvalidRequestError('An image part needs an http(s) URL, a data: URL or base64 data', {
    provider,
  });
}

/** `data:image/png;base64,iVBOR…` → `{ type: 'base64', media_type: 'image/png', data: 'iVBOR…' }`. */
function fromDataUrl(provider: string, url: string): AnthropicImageSource {
  const match = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/is.exec(url);
  const mediaType = match?.[1]?.trim().toLowerCase();
  const isBase64 = match?.[2]?.split(';').some((p) => p.trim().toLowerCase() === 'base64');
  if (!match || !mediaType || !isBase64) {
    throw new InvalidRequestError('An image data: URL must name its media type and be base64-encoded', {
      provider,
    });
  }
  return { type: 'base64', media_type: mediaType, data: match[3]! };
}

function toToolUse(provider: string, call: ToolCall): AnthropicContentBlock {
  return { type: 'tool_use', id: call.id, name: call.name, input: parseToolInput(provider, call) };
}

/** Tool-call arguments (JSON text) → the object Anthropic wants as `input`. */
export function parseToolInput(provider: string, call: ToolCall): Record<string, unknown> {
  const text = call.arguments.trim();
  if (text === '' || text === 'null') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRequestError(
      `The arguments of an assistant tool call (${call.name}) are not a JSON object, which Anthropic needs as tool input`,
      { provider },
    );
  }
  return value as Record<string, unknown>;
}

/** Anthropic requires `input_schema.type` to be `object`; a schema without a type gets it. */
function toAnthropicTool(tool: ToolDefinition): AnthropicTool {
  return {
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    input_schema:
      tool.parameters.type === undefined ? { type: 'object', ...tool.parameters } : tool.parameters,
    ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
  };
}

/**
 * auto → auto, required → any, { name } → tool, none → none. `parallelToolCalls: false` is
 * Anthropic's `disable_parallel_tool_use` on the choice (an unset choice becomes `auto` to carry
 * it; `none` cannot carry it and needs it not).
 * https://docs.claude.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use
 */
function toAnthropicToolChoice(request: ChatRequest): AnthropicToolChoice | undefined {
  const { toolChoice, parallelToolCalls } = request;
  const serial = parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (toolChoice === 'none') return { type: 'none' };
  if (toolChoice === 'required') return { type: 'any', ...serial };
  if (typeof toolChoice === 'object') return { type: 'tool', name: toolChoice.name, ...serial };
  if (toolChoice === 'auto' || parallelToolCalls === false) return { type: 'auto', ...serial };
  return undefined;
}
