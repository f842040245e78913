import { InvalidRequestError } from '../../errors.js';
import type {
  AssistantMessage,
  ChatRequest,
  ContentPart,
  ImagePart,
  Message,
  ToolChoice,
} from '../../types/index.js';
import type { GeminiContent, GeminiGenerationConfig, GeminiPart, GeminiRequest } from './gemini-wire.js';
import { toGeminiSchema } from './to-gemini-schema.js';

/**
 * Google's documented placeholder for a replayed function call whose `thoughtSignature` was not
 * kept. Gemini 3 models reject history with unsigned function calls (400 "Function call is missing
 * a thought_signature"); neutral tool calls carry no signature, so calls replayed to a Gemini 3
 * model get this sentinel. Earlier models ignore signatures and get none.
 * https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/**
 * Builds a `generateContent` / `streamGenerateContent` body from a neutral chat request.
 * https://ai.google.dev/api/generate-content#request-body
 *
 * - System messages (wherever they are) become `systemInstruction`: Gemini has no system role in
 *   `contents`.
 * - user → `user`, assistant → `model`; tool results are `functionResponse` parts of a `user`
 *   turn; consecutive turns of one role are merged, so the responses to parallel calls travel
 *   together as Gemini expects.
 * - `user` (end-user id), `parallelToolCalls`, a tool's `strict` and an image's `detail` have no
 *   `generateContent` equivalent and are not sent; nor are tool-call ids (Gemini pairs results
 *   with calls by name and order, and ids minted by another provider mean nothing to it).
 *
 * Throws `InvalidRequestError` for what Gemini cannot express (a tool result with no tool name,
 * tool-call arguments that are not a JSON object, an image without a type).
 */
export function toGeminiRequest(request: ChatRequest, provider = 'gemini'): GeminiRequest {
  const fail = (message: string) => new InvalidRequestError(message, { provider });
  const system: { text: string }[] = [];
  const turns: GeminiContent[] = [];
  const toolNames = toolNamesById(request.messages);
  const signCalls = needsThoughtSignatures(request.model);

  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
        system.push({ text: message.content });
        break;
      case 'user':
        turns.push({ role: 'user', parts: toUserParts(message.content, fail) });
        break;
      case 'assistant':
        turns.push({ role: 'model', parts: toModelParts(message, signCalls, fail) });
        break;
      case 'tool': {
        const name = message.name ?? toolNames.get(message.toolCallId);
        if (!name) {
          throw fail(
            `A tool result (${message.toolCallId}) needs the tool's name: Gemini pairs results with calls by name`,
          );
        }
        turns.push({
          role: 'user',
          parts: [{ functionResponse: { name, response: toFunctionResponse(message.content) } }],
        });
        break;
      }
    }
  }

  const body: GeminiRequest = { contents: mergeTurns(turns) };
  if (system.length > 0) body.systemInstruction = { parts: system };
  if (request.tools && request.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: request.tools.map((tool) => {
          const schema = toGeminiSchema(tool.parameters);
          return {
            name: tool.name,
            ...(tool.description !== undefined ? { description: tool.description } : {}),
            // A tool without parameters leaves the schema unset (Google's rule for such tools).
            ...(Object.keys(schema).length > 0 ? { parametersJsonSchema: schema } : {}),
          };
        }),
      },
    ];
    if (request.toolChoice !== undefined) {
      body.toolConfig = { functionCallingConfig: toFunctionCallingConfig(request.toolChoice) };
    }
  }
  const generationConfig = toGenerationConfig(request);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  return body;
}

/** Gemini 3 and later validate thought signatures on replayed function calls. */
function needsThoughtSignatures(model: string): boolean {
  return /^(models\/)?gemini-([3-9]|\d{2,})([.-]|$)/.test(model);
}

function toolNamesById(messages: Message[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const call of message.toolCalls ?? []) names.set(call.id, call.name);
  }
  return names;
}

function toUserParts(content: string | ContentPart[], fail: (message: string) => Error): GeminiPart[] {
  if (typeof content === 'string') return [{ text: content }];
  return content.map((part) => (part.type === 'text' ? { text: part.text } : toImagePart(part, fail)));
}

function toModelParts(
  message: AssistantMessage,
  signCalls: boolean,
  fail: (message: string) => Error,
): GeminiPart[] {
  const parts: GeminiPart[] = [];
  if (message.content) parts.push({ text: message.content });
  for (const call of message.toolCalls ?? []) {
    parts.push({
      functionCall: { name: call.name, args: parseArguments(call.arguments, call.name, fail) },
      ...(signCalls ? { thoughtSignature: SKIP_THOUGHT_SIGNATURE } : {}),
    });
  }
  return parts;
}

/** Tool-call arguments are JSON text; Gemini wants the object (a protobuf Struct). */
function parseArguments(
  text: string,
  name: string,
  fail: (message: string) => Error,
): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw fail(`The arguments of the call to tool "${name}" are not valid JSON`);
  }
  if (!isPlainObject(parsed)) throw fail(`The arguments of the call to tool "${name}" are not a JSON object`);
  return parsed;
}

/**
 * `functionResponse.response` must be a JSON object (a protobuf Struct). A tool result that is a
 * JSON object goes as is; anything else (a JSON array, string or number, or plain text) is
 * wrapped as `{ content: … }`, so the model still sees the whole result under one stable key.
 */
export function toFunctionResponse(content: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(content);
    return isPlainObject(parsed) ? parsed : { content: parsed };
  } catch {
    return { content };
  }
}

function toImagePart(part: ImagePart, fail: (message: string) => Error): GeminiPart {
  if (part.data !== undefined) {
    const mimeType = part.mediaType ?? sniffImageType(part.data);
    if (!mimeType) throw fail('An image given as data needs a mediaType');
    return { inlineData: { mimeType, data: part.data } };
  }
  const url = part.url ?? '';
  if (url.startsWith('data:')) {
    const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
    if (!match) throw fail('An image data: URL must be base64-encoded');
    return { inlineData: { mimeType: part.mediaType ?? match[1]!, data: match[2]! } };
  }
  if (/^https?:\/\//i.test(url)) {
    const mimeType = part.mediaType ?? imageTypeFromPath(url);
    return { fileData: { ...(mimeType ? { mimeType } : {}), fileUri: url } };
  }
  throw fail('An image needs base64 data, a data: URL or an http(s) URL');
}

/** The first bytes of common image formats, as they look in base64. */
const BASE64_SIGNATURES: [string, string][] = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
];

function sniffImageType(base64: string): string | undefined {
  return BASE64_SIGNATURES.find(([prefix]) => base64.startsWith(prefix))?.[1];
}

const EXTENSION_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
};

function imageTypeFromPath(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return extension ? EXTENSION_TYPES[extension] : undefined;
}

/** Gemini rejects two consecutive turns of one role and turns with no parts. */
function mergeTurns(turns: GeminiContent[]): GeminiContent[] {
  const merged: GeminiContent[] = [];
  for (const turn of turns) {
    if (!turn.parts || turn.parts.length === 0) continue;
    const last = merged.at(-1);
    if (last && last.role === turn.role) last.parts = [...(last.parts ?? []), ...turn.parts];
    else merged.push({ role: turn.role, parts: [...turn.parts] });
  }
  return merged;
}

/** https://ai.google.dev/api/caching#FunctionCallingConfig */
function toFunctionCallingConfig(
  choice: ToolChoice,
): NonNullable<GeminiRequest['toolConfig']>['functionCallingConfig'] {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  return { mode: 'ANY', allowedFunctionNames: [choice.name] };
}

function toGenerationConfig(request: ChatRequest): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
  if (request.stop && request.stop.length > 0) config.stopSequences = request.stop;
  if (request.seed !== undefined) config.seed = request.seed;
  const format = request.responseFormat;
  if (format?.type === 'json' || format?.type === 'json_schema') config.responseMimeType = 'application/json';
  if (format?.type === 'json_schema') config.responseJsonSchema = toGeminiSchema(format.schema);
  return config;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
