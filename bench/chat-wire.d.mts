export interface ChatWireOptions {
  id: string;
  created: number;
  model: string;
  /** Words of content (stream: one content chunk each). */
  chunks: number;
}
export function chatCompletion(options: ChatWireOptions): string;
export function chatStreamEvents(options: ChatWireOptions & { includeUsage: boolean }): string[];
/** Earlier turns of a conversation, about `bytes` of JSON in all (code, quotes, newlines). */
export function conversationHistory(bytes: number): { role: 'user' | 'assistant'; content: string }[];
