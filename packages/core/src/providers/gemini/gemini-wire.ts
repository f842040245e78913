/**
 * The parts of the Gemini API wire format (`v1beta`) Keyhold reads and writes.
 * https://ai.google.dev/api/generate-content
 * https://ai.google.dev/api/caching#Content
 */

export interface GeminiFunctionCall {
  /** Present on newer models and on Vertex; older Gemini API answers carry no id. */
  id?: string;
  name?: string;
  args?: Record<string, unknown>;
  /**
   * Vertex streamed function-call arguments: a call opens with `{name, willContinue: true}`,
   * continues with `{partialArgs, willContinue: true}` and closes with a part without
   * `willContinue` (often `{}`).
   */
  willContinue?: boolean;
  partialArgs?: GeminiPartialArg[];
}

/** One piece of a streamed argument, addressed by an RFC 9535 JSON Path such as `$.a.b[0]`. */
export interface GeminiPartialArg {
  jsonPath?: string;
  stringValue?: string;
  numberValue?: number;
  boolValue?: boolean;
  nullValue?: string;
  willContinue?: boolean;
}

export interface GeminiPart {
  text?: string;
  /** A thought summary (thinking models with `includeThoughts`). */
  thought?: boolean;
  /** Opaque reasoning state; Gemini 3 wants it echoed on replayed function calls. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: GeminiFunctionCall;
  functionResponse?: { id?: string; name: string; response: Record<string, unknown> };
}

export interface GeminiContent {
  role?: 'user' | 'model';
  parts?: GeminiPart[];
}

export interface GeminiUsageMetadata {
  /** All prompt tokens, including those served from cached content. */
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  /** Prompt tokens of tool-use results (code execution, grounding); billed as input. */
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiCandidate {
  content?: GeminiContent;
  finishReason?: string;
  index?: number;
}

/** A `GenerateContentResponse`; each streamed chunk is one too. */
export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
  /** Some failures arrive as an error object inside a 200 stream. */
  error?: unknown;
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /**
   * Standard JSON Schema (the newer sibling of `parameters`, which takes only an OpenAPI 3.0
   * subset). See `to-gemini-schema.ts` for why Keyhold uses it.
   */
  parametersJsonSchema?: Record<string, unknown>;
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  seed?: number;
  responseMimeType?: string;
  responseJsonSchema?: Record<string, unknown>;
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  toolConfig?: {
    functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] };
  };
  generationConfig?: GeminiGenerationConfig;
}
