import { type CallOptions, type Engine, generate } from './engine.js';
import type { ChatInput, ChatResult, Message, ToolMessage } from './types/index.js';

export interface SessionOptions extends Omit<ChatInput, 'messages'> {
  system?: string;
}

/**
 * A conversation: keeps the messages, calls the engine, appends the answers. It never keeps a key:
 * pass `apiKey` (or rely on the engine's resolver) on every turn.
 *
 * @example
 * const chat = new Session(engine, { system: 'Be brief.' });
 * await chat.start('Hello', { apiKey });
 * await chat.reply('And then?', { apiKey });
 */
export class Session {
  readonly #engine: Engine;
  readonly #settings: Omit<SessionOptions, 'system'>;
  readonly #system: string | undefined;
  #messages: Message[] = [];

  constructor(engine: Engine, options: SessionOptions = {}) {
    const { system, ...settings } = options;
    this.#engine = engine;
    this.#system = system;
    this.#settings = settings;
  }

  get messages(): readonly Message[] {
    return this.#messages;
  }

  /** Starts over with the system prompt and a first user message. */
  async start(text: string, options?: CallOptions): Promise<ChatResult> {
    this.#messages = this.#system ? [{ role: 'system', content: this.#system }] : [];
    return this.reply(text, options);
  }

  /** Adds a user message and asks for the next answer. */
  async reply(text: string, options?: CallOptions): Promise<ChatResult> {
    this.#messages.push({ role: 'user', content: text });
    return this.#turn(options);
  }

  /** Adds tool results (answers to the last tool calls), if any, and asks the model to go on. */
  async continue(toolResults: Omit<ToolMessage, 'role'>[] = [], options?: CallOptions): Promise<ChatResult> {
    for (const result of toolResults) this.#messages.push({ role: 'tool', ...result });
    return this.#turn(options);
  }

  async #turn(options?: CallOptions): Promise<ChatResult> {
    const result = await generate(
      this.#engine,
      { ...this.#settings, messages: [...this.#messages] },
      options,
    );
    this.#messages.push({
      role: 'assistant',
      content: result.content,
      ...(result.toolCalls.length > 0 ? { toolCalls: result.toolCalls } : {}),
    });
    return result;
  }

  toJSON(): { engine: Engine; messages: Message[] } {
    return { engine: this.#engine, messages: this.#messages };
  }
}
