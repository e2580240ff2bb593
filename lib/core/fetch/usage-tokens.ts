import type { ClassifiedError } from '../providers/provider.interfaces';
import type { Usage } from '../types';

/** What a successful answer's body showed once it was read to the end. */
export interface BodyVerdict {
  /** Tokens, when the body carried usage. */
  readonly usage: Usage | undefined;
  /** An error event inside a 200 stream (an overloaded model midway, a rate limit at start, …). */
  readonly error?: ClassifiedError;
  /** Why the body does not end the way its wire format says (no `[DONE]`, no `message_stop`, a JSON that does not parse). */
  readonly incomplete?: string;
}

/** Watches the bytes of a body as the client reads them; never holds more than a bounded window of it. */
export interface BodyTracker {
  push(chunk: Uint8Array): void;
  finish(): BodyVerdict;
  /**
   * The verdict the bytes read so far already force, for a client that stops reading early: the end its wire format
   * defines (`[DONE]`, `message_stop`, `response.completed`, `messageStop`: some clients stop there without waiting
   * for the connection to close, and had the whole answer), or an error event (clients stop there too). Undefined
   * while the body is still inconclusive: the client cancelled an answer in progress.
   */
  conclusive(): BodyVerdict | undefined;
}

/** Token counts of one parsed answer, event or chunk, whatever the wire format. */
export class Tokens {
  input: number | undefined;
  output: number | undefined;

  /**
   * `usage` (OpenAI chat/embeddings `prompt_tokens`/`completion_tokens`, Responses and Anthropic `input_tokens`/
   * `output_tokens` with Anthropic's cache counts added, Bedrock `inputTokens`/`outputTokens`), `usageMetadata`
   * (Gemini, thinking tokens counted as output), under `response` (Responses stream) or `message` (Anthropic's
   * `message_start`), and Titan embeddings' `inputTextTokenCount`. Later values replace earlier ones (streams repeat
   * cumulative counts).
   */
  take(doc: unknown): void {
    if (typeof doc !== 'object' || doc === null) return;
    const o = doc as Record<string, unknown>;
    const u = (obj(o.usage) ?? obj(o.usageMetadata) ?? obj(obj(o.response)?.usage) ?? obj(obj(o.message)?.usage)) as Record<string, unknown> | undefined;
    if (u === undefined) {
      const titan = num(o.inputTextTokenCount) ?? num(o.inputTokenCount);
      if (titan !== undefined) this.input = titan;
      return;
    }
    const anthropicIn = num(u.input_tokens);
    const input =
      num(u.prompt_tokens) ??
      (anthropicIn !== undefined ? anthropicIn + (num(u.cache_creation_input_tokens) ?? 0) + (num(u.cache_read_input_tokens) ?? 0) : undefined) ??
      num(u.inputTokens) ??
      num(u.promptTokenCount);
    const candidates = num(u.candidatesTokenCount);
    const thoughts = num(u.thoughtsTokenCount);
    const output =
      num(u.completion_tokens) ??
      num(u.output_tokens) ??
      num(u.outputTokens) ??
      (candidates !== undefined || thoughts !== undefined ? (candidates ?? 0) + (thoughts ?? 0) : undefined);
    if (input !== undefined) this.input = input;
    if (output !== undefined) this.output = output;
  }

  get usage(): Usage | undefined {
    if (this.input === undefined && this.output === undefined) return undefined;
    return { inputTokens: this.input ?? 0, outputTokens: this.output ?? 0 };
  }
}

export function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
