import { expectStream, type Exchange, type HttpRequest } from '../../transport/http';
import { readSse } from '../../transport/sse';
import type { FinishReason, Usage } from '../../types';
import type { CallTarget, ClassifiedError, ParsedResult, ProviderAdapter, StreamDelta, UnifiedRequest } from '../provider.interfaces';
import { classifyAnthropicError, classifyStreamError, spentUntil } from './anthropic.limits';
import { count, countOrUndefined, usage as usageOfCounts, endedEarly, headerSafe, isObject, libraryErrorsOnly, listAt, malformed, objectAt, parseEvent, textAt, type WireObject } from '../wire-checks';
import { toAnthropicBody } from './anthropic.messages';

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
      'x-api-key': headerSafe(t.keyId, t.secret),
    };
    if (stream) headers.accept = 'text/event-stream';
    return { url: `${base}/v1/messages`, headers, body: JSON.stringify(toAnthropicBody(t.model, req, stream)) };
  }

  parseResponse(raw: unknown): ParsedResult {
    const p = this.provider;
    if (!isObject(raw)) throw malformed(p, 'the answer is not a JSON object');
    const blocks = listAt(p, raw.content, 'content');
    if (blocks === undefined) throw malformed(p, 'the answer has no content list');
    let content = '';
    for (const b of blocks) {
      const block = objectAt(p, b, 'a content block');
      if (block?.type !== 'text') continue;
      const text = textAt(p, block.text, 'a text block\'s text');
      if (text === undefined) throw malformed(p, 'a text block has no text');
      content += text;
    }
    const usage = isObject(raw.usage) ? raw.usage : undefined;
    return {
      content,
      finishReason: mapStopReason(textAt(p, raw.stop_reason, 'stop_reason')),
      usage: usageOfCounts(inputTokensOf(usage) ?? 0, count(usage?.output_tokens), count(usage?.cache_read_input_tokens)),
      model: typeof raw.model === 'string' ? raw.model : undefined,
    };
  }

  /**
   * Decodes Anthropic's SSE events: `message_start` (input tokens), `content_block_delta` with a
   * `text_delta`, `message_delta` (stop reason, output tokens), `message_stop`, and `error` events
   * (e.g. `overloaded_error` midway). `ping` is a keep-alive; non-text deltas (thinking, tool input) are skipped
   * but count as the first token. A stream that ends before `message_stop` is a truncated answer, reported as a
   * transport error.
   */
  readStream(ex: Exchange, res: Response): AsyncIterable<StreamDelta> {
    return libraryErrorsOnly(this.provider, this.decode(ex, res));
  }

  private async *decode(ex: Exchange, res: Response): AsyncGenerator<StreamDelta> {
    const p = this.provider;
    const body = await expectStream(ex, res);
    for await (const ev of readSse(ex, body)) {
      if (ev.event === 'ping') continue;
      const e = parseEvent(p, ev.data);
      switch (typeof e.type === 'string' ? e.type : ev.event) {
        case 'message_start': {
          const startUsage = objectAt(p, objectAt(p, e.message, 'message')?.usage, 'message.usage');
          const input = inputTokensOf(startUsage);
          const cached = count(startUsage?.cache_read_input_tokens);
          if (input !== undefined) yield { usage: cached > 0 ? { inputTokens: input, cachedInputTokens: cached } : { inputTokens: input } };
          break;
        }
        case 'content_block_start': {
          const block = objectAt(p, e.content_block, 'content_block');
          if (block === undefined) break;
          // Sent before any token is generated: not a first token unless it carries text.
          const text = block.type === 'text' ? textAt(p, block.text, 'content_block.text') : undefined;
          if (text !== undefined && text.length > 0) yield { delta: text };
          break;
        }
        case 'content_block_delta': {
          const delta = objectAt(p, e.delta, 'delta');
          if (delta === undefined) break;
          ex.firstToken(); // thinking and tool-input deltas are tokens too, though not text
          const text = delta.type === 'text_delta' ? textAt(p, delta.text, 'delta.text') : undefined;
          if (text !== undefined && text.length > 0) yield { delta: text };
          break;
        }
        case 'message_delta': {
          const delta = objectAt(p, e.delta, 'delta');
          const u = objectAt(p, e.usage, 'usage');
          const out: StreamDelta = {};
          const stop = textAt(p, delta?.stop_reason, 'delta.stop_reason');
          if (stop) out.finishReason = mapStopReason(stop);
          const usage: Partial<Usage> = {};
          const output = countOrUndefined(u?.output_tokens);
          if (output !== undefined) usage.outputTokens = output;
          // Newer API versions repeat the (cumulative) input counts here.
          const input = inputTokensOf(u);
          if (input !== undefined && input > 0) usage.inputTokens = input;
          const cached = count(u?.cache_read_input_tokens);
          if (cached > 0) usage.cachedInputTokens = cached;
          if (usage.outputTokens !== undefined || usage.inputTokens !== undefined) out.usage = usage;
          if (out.finishReason !== undefined || out.usage !== undefined) yield out;
          break;
        }
        case 'message_stop':
          return;
        case 'error': {
          const err = objectAt(p, e.error, 'error');
          yield { error: classifyStreamError({ type: typeof err?.type === 'string' ? err.type : undefined, message: typeof err?.message === 'string' ? err.message : undefined }) };
          return;
        }
        default:
          break; // content_block_stop and event types added later
      }
    }
    throw endedEarly(p, 'message_stop');
  }

  classifyError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
    return classifyAnthropicError(status, headers, body, now);
  }

  successCooldownUntil(headers: Headers, now: number): number | undefined {
    return spentUntil(headers, now);
  }
}

/** `input_tokens` excludes prompt-cache reads and writes; the unified count includes them (they are input). */
function inputTokensOf(u: WireObject | undefined): number | undefined {
  const input = countOrUndefined(u?.input_tokens);
  if (input === undefined) return undefined;
  return input + count(u?.cache_creation_input_tokens) + count(u?.cache_read_input_tokens);
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
