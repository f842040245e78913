/** JSON Schema, as the providers accept it for tool parameters and structured output. */
export type JsonSchema = Record<string, unknown>;

/** A text part of a multi-part message. */
export interface TextPart {
  type: 'text';
  text: string;
}

/**
 * An image part. Either `url` (http(s) or a `data:` URL) or `data` (base64) with `mediaType`.
 * Adapters convert between the two where a provider accepts only one.
 */
export interface ImagePart {
  type: 'image';
  url?: string;
  data?: string;
  mediaType?: string;
  detail?: 'auto' | 'low' | 'high';
}

export type ContentPart = TextPart | ImagePart;

export interface SystemMessage {
  role: 'system';
  content: string;
}

export interface UserMessage {
  role: 'user';
  content: string | ContentPart[];
  name?: string;
}

export interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  toolCalls?: ToolCall[];
}

/** The result of a tool call, sent back to the model. */
export interface ToolMessage {
  role: 'tool';
  toolCallId: string;
  /** Tool name; Gemini needs it to pair a result with its call. */
  name?: string;
  content: string;
}

export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A tool call made by the model. `arguments` is JSON text, exactly as the model produced it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: JsonSchema;
  strict?: boolean;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json' }
  | { type: 'json_schema'; name: string; schema: JsonSchema; description?: string; strict?: boolean };

/** What a caller asks of a chat model; the engine supplies the model. */
export interface ChatInput {
  messages: Message[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  responseFormat?: ResponseFormat;
  seed?: number;
  /** An opaque end-user id, passed to providers that accept one (abuse monitoring). */
  user?: string;
}

/** A chat request as an adapter receives it. */
export interface ChatRequest extends ChatInput {
  model: string;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other';

/** Token counts of one call. `totalTokens` is input + output. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens?: number;
  /** Input tokens written to the provider's prompt cache (Anthropic, Bedrock). */
  cacheWriteInputTokens?: number;
  /** Output tokens spent on reasoning (part of outputTokens). */
  reasoningTokens?: number;
}

export interface ChatResult {
  /** The provider's response id. */
  id: string;
  /** The model the provider says answered. */
  model: string;
  content: string | null;
  /** Reasoning / thinking text, where the provider returns it. */
  reasoning?: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
}
