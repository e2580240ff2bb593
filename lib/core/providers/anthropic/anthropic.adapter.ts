import { ProviderTransportError } from '../../errors';
import type { Exchange, HttpRequest } from '../../transport/http';
import { readSse } from '../../transport/sse';
import type { FinishReason, Usage } from '../../types';
import type { CallTarget, ClassifiedError, ParsedResult, ProviderAdapter, StreamDelta, UnifiedRequest } from '../provider.interfaces';
import { classifyAnthropicError, classifyStreamError, spentUntil } from './anthropic.limits';
import { toAnthropicBody } from './anthropic.messages';
import type { AnthropicMessage, AnthropicStreamEvent, AnthropicUsage } from './anthropic.wire';

export const ANTHROPIC_DEFAULT_VERSION = '2023-06-01';

/**
 * Anthropic's Messages API: `POST {baseUrl}/v1/messages` with `x-api-key` and `anthropic-version`
 * (the base is what `@anthropic-ai/sdk` calls `baseURL`, default `https://api.anthropic.com`).
 */
export class AnthropicAdapter implements ProviderAdapter {
  readonly provider = 'anthropic' as const;
  readonly defaultBaseUrl = 'https://api.anthropic.com';

  buildRequest(t: CallTarget, req: UnifiedRequest, stream: boolean): HttpRequest {
    const base = t.baseUrl.endsWith('/') ? t.baseUrl.slice(0, -1) : t.baseUrl;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'anthropic-version': t.settings.anthropicVersion ?? ANTHROPIC_DEFAULT_VERSION,
      ...t.settings.headers,
      'x-api-key': t.secret,
    };
    if (stream) headers.accept = 'text/event-stream';
    return { url: `${base}/v1/messages`, headers, body: JSON.stringify(toAnthropicBody(t.model, req, stream)) };
  }

  parseResponse(raw: unknown): ParsedResult {
    const b = raw as AnthropicMessage;
    if (b === null || typeof b !== 'object' || !Array.isArray(b.content)) throw new TypeError('response has no content array');
    let content = '';
    for (const block of b.content) {
      if (block?.type !== 'text') continue;
      if (typeof block.text !== 'string') throw new TypeError('a text block has no text');
      content += block.text;
    }
    return {
      content,
      finishReason: mapStopReason(b.stop_reason),
      usage: { inputTokens: inputTokensOf(b.usage) ?? 0, outputTokens: b.usage?.output_tokens ?? 0 },
      model: typeof b.model === 'string' ? b.model : undefined,
    };
  }

  /**
   * Decodes Anthropic's SSE events: `message_start` (input tokens), `content_block_delta` with a
   * `text_delta`, `message_delta` (stop reason, output tokens), `message_stop`, and `error` events
   * (e.g. `overloaded_error` midway). `ping` and non-text blocks (thinking, tool input) are skipped.
   * A stream that ends before `message_stop` is a truncated answer, reported as a transport error.
   */
  async *readStream(ex: Exchange, res: Response): AsyncIterable<StreamDelta> {
    if (res.body === null) throw new TypeError('stream has no body');
    for await (const ev of readSse(ex, res.body)) {
      if (ev.event === 'ping') continue;
      const e = JSON.parse(ev.data) as AnthropicStreamEvent;
      switch (e.type ?? ev.event) {
        case 'message_start': {
          const input = inputTokensOf(e.message?.usage);
          if (input !== undefined) yield { usage: { inputTokens: input } };
          break;
        }
        case 'content_block_start':
          if (e.content_block?.type === 'text' && typeof e.content_block.text === 'string' && e.content_block.text.length > 0) {
            yield { delta: e.content_block.text };
          }
          break;
        case 'content_block_delta':
          if (e.delta?.type === 'text_delta' && typeof e.delta.text === 'string' && e.delta.text.length > 0) yield { delta: e.delta.text };
          break;
        case 'message_delta': {
          const out: StreamDelta = {};
          if (e.delta?.stop_reason) out.finishReason = mapStopReason(e.delta.stop_reason);
          const usage: Partial<Usage> = {};
          if (typeof e.usage?.output_tokens === 'number') usage.outputTokens = e.usage.output_tokens;
          // Newer API versions repeat the (cumulative) input counts here.
          const input = inputTokensOf(e.usage);
          if (input !== undefined && input > 0) usage.inputTokens = input;
          if (usage.outputTokens !== undefined || usage.inputTokens !== undefined) out.usage = usage;
          if (out.finishReason !== undefined || out.usage !== undefined) yield out;
          break;
        }
        case 'message_stop':
          return;
        case 'error':
          yield { error: classifyStreamError(e.error) };
          return;
        default:
          break; // content_block_stop and event types added later
      }
    }
    throw new ProviderTransportError('anthropic', 'anthropic stream ended before message_stop', 'EMALFORMED');
  }

  classifyError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
    return classifyAnthropicError(status, headers, body, now);
  }

  successCooldownUntil(headers: Headers, now: number): number | undefined {
    return spentUntil(headers, now);
  }
}

/** `input_tokens` excludes prompt-cache reads and writes; the unified count includes them (they are input). */
function inputTokensOf(u: AnthropicUsage | undefined): number | undefined {
  if (u === undefined || u === null || typeof u.input_tokens !== 'number') return undefined;
  return u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
}

function mapStopReason(r: string | null | undefined): FinishReason {
  switch (r) {
    case 'end_turn':
    case 'stop_sequence':
    case null:
    case undefined:
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other'; // pause_turn and stop reasons added later
  }
}
