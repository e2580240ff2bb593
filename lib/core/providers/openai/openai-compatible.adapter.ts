import { CallCancelledError } from '../../errors';
import { expectStream, type Exchange, type HttpRequest } from '../../transport/http';
import { readSse } from '../../transport/sse';
import type { ChatMessage, FinishReason, ProviderName, Usage } from '../../types';
import { errorMessageOf, kindOfStatus, parseDuration, retryAfterMs } from '../http-errors';
import type { CallTarget, ClassifiedError, ParsedResult, ProviderAdapter, StreamDelta, UnifiedRequest } from '../provider.interfaces';
import { endedEarly, headerSafe, isObject, libraryErrorsOnly, listAt, malformed, messageOr, objectAt, parseEvent, textAt, count, usage } from '../wire-checks';

type Flavor = 'openai' | 'openrouter' | 'azure_openai';

const DEFAULT_BASE: Record<Flavor, string> = {
  openai: 'https://api.openai.com/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  azure_openai: '',
};
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/** The chat-completions wire format, shared by OpenAI, OpenRouter and Azure OpenAI. */
export class OpenAiCompatibleAdapter implements ProviderAdapter {
  readonly defaultBaseUrl: string;

  constructor(readonly provider: Flavor & ProviderName) {
    this.defaultBaseUrl = DEFAULT_BASE[provider];
  }

  buildRequest(t: CallTarget, req: UnifiedRequest, stream: boolean): HttpRequest {
    const base = trimSlash(t.baseUrl);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...t.settings.headers };
    let url: string;
    const body: Record<string, unknown> = { messages: req.messages.map(toWire) };
    if (this.provider === 'azure_openai') {
      const deployment = t.settings.deployments?.[t.model] ?? t.model;
      const version = t.settings.apiVersion ?? AZURE_DEFAULT_API_VERSION;
      url = `${base}/openai/deployments/${encodeURIComponent(deployment)}/chat/completions?api-version=${encodeURIComponent(version)}`;
      headers['api-key'] = headerSafe(t.keyId, t.secret);
    } else {
      url = `${base}/chat/completions`;
      body.model = t.model;
      headers.authorization = `Bearer ${headerSafe(t.keyId, t.secret)}`;
    }
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
    if (req.topP !== undefined) body.top_p = req.topP;
    if (req.stop !== undefined && req.stop.length > 0) body.stop = req.stop;
    if (stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
      headers.accept = 'text/event-stream';
    }
    return { url, headers, body: JSON.stringify(body) };
  }

  parseResponse(raw: unknown): ParsedResult {
    const p = this.provider;
    if (!isObject(raw)) throw malformed(p, 'the answer is not a JSON object');
    const choice = objectAt(p, listAt(p, raw.choices, 'choices')?.[0], 'choices[0]');
    if (choice === undefined) throw malformed(p, 'the answer has no choices');
    const message = objectAt(p, choice.message, 'choices[0].message');
    return {
      content: textAt(p, message?.content, 'choices[0].message.content') ?? '',
      finishReason: mapFinish(textAt(p, choice.finish_reason, 'choices[0].finish_reason')),
      usage: usageOf(raw.usage),
      model: typeof raw.model === 'string' ? raw.model : undefined,
    };
  }

  /**
   * Decodes the SSE stream. It is complete on `data: [DONE]`, or once a `finish_reason` was received: some
   * compatible servers never send `[DONE]`, and after the finish only the usage chunk can follow, so a cut after
   * it loses the usage, not the answer. A stream that ends (or breaks) before either is cut short: a transient
   * failure, whatever it yielded. An `{"error": …}` event is the upstream's error.
   */
  readStream(ex: Exchange, res: Response): AsyncIterable<StreamDelta> {
    return libraryErrorsOnly(this.provider, this.decode(ex, res));
  }

  private async *decode(ex: Exchange, res: Response): AsyncGenerator<StreamDelta> {
    const p = this.provider;
    const body = await expectStream(ex, res);
    let finished = false;
    try {
      for await (const ev of readSse(ex, body)) {
        if (ev.data === '[DONE]') return;
        const b = parseEvent(p, ev.data);
        const error = b.error;
        if (error !== undefined && error !== null) {
          const e = isObject(error) ? error : { message: error };
          const status = typeof e.code === 'number' && e.code >= 400 && e.code < 600 ? e.code : 500;
          yield { error: { kind: kindOfStatus(status), status, message: messageOr(e.message, 'stream error') } };
          return;
        }
        const choice = objectAt(p, listAt(p, b.choices, 'choices')?.[0], 'choices[0]');
        const delta = objectAt(p, choice?.delta, 'choices[0].delta');
        const out: StreamDelta = {};
        const text = textAt(p, delta?.content, 'choices[0].delta.content');
        if (text !== undefined && text.length > 0) out.delta = text;
        // Reasoning and tool-call deltas are tokens too (for the first-token deadline), though not text.
        else if (delta !== undefined && (delta.reasoning_content || delta.reasoning || delta.tool_calls)) ex.firstToken();
        const reason = textAt(p, choice?.finish_reason, 'choices[0].finish_reason');
        if (reason) {
          out.finishReason = mapFinish(reason);
          finished = true;
        }
        if (isObject(b.usage)) out.usage = usageOf(b.usage);
        if (out.delta !== undefined || out.finishReason !== undefined || out.usage !== undefined) yield out;
      }
    } catch (e) {
      // After the finish reason the answer is whole; a cut loses only the usage that may follow.
      if (finished && !(e instanceof CallCancelledError)) return;
      throw e;
    }
    if (!finished) throw endedEarly(p, '[DONE] or a finish_reason');
  }

  classifyError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
    const message = errorMessageOf(body);
    let kind = kindOfStatus(status);
    // Some gateways answer a spent quota with 403/400 and an `insufficient_quota` or `rate_limit_exceeded` code.
    if (/insufficient_quota|rate_limit_exceeded/.test(body)) kind = 'rate_limit';
    let retry = retryAfterMs(headers, now);
    if (retry === undefined && kind === 'rate_limit') retry = resetOf(headers, now);
    return { kind, status, message, retryAfterMs: retry };
  }

  successCooldownUntil(headers: Headers, now: number): number | undefined {
    if (headers.get('x-ratelimit-remaining-requests') === '0') {
      const ms = parseDuration(headers.get('x-ratelimit-reset-requests'));
      if (ms !== undefined) return now + ms;
    }
    if (headers.get('x-ratelimit-remaining-tokens') === '0') {
      const ms = parseDuration(headers.get('x-ratelimit-reset-tokens'));
      if (ms !== undefined) return now + ms;
    }
    if (headers.get('x-ratelimit-remaining') === '0') return openRouterReset(headers, now);
    return undefined;
  }
}

/** After a 429 with no retry-after: OpenAI's per-window reset headers, or OpenRouter's epoch-ms reset. */
function resetOf(headers: Headers, now: number): number | undefined {
  const r = parseDuration(headers.get('x-ratelimit-reset-requests'));
  const t = parseDuration(headers.get('x-ratelimit-reset-tokens'));
  if (r !== undefined || t !== undefined) {
    const rr = headers.get('x-ratelimit-remaining-requests') === '0' ? r : undefined;
    const tt = headers.get('x-ratelimit-remaining-tokens') === '0' ? t : undefined;
    const chosen = Math.max(rr ?? 0, tt ?? 0);
    if (chosen > 0) return chosen;
    return Math.max(r ?? 0, t ?? 0) || undefined;
  }
  const until = openRouterReset(headers, now);
  return until === undefined ? undefined : until - now;
}

function openRouterReset(headers: Headers, now: number): number | undefined {
  const v = Number(headers.get('x-ratelimit-reset'));
  return Number.isFinite(v) && v > now ? v : undefined;
}

/** Usage is informative: a usage of the wrong shape counts as none rather than failing the answer. Cached prompt tokens are priced apart. */
function usageOf(u: unknown): Usage {
  const o = isObject(u) ? u : undefined;
  const details = isObject(o?.prompt_tokens_details) ? o.prompt_tokens_details : undefined;
  return usage(count(o?.prompt_tokens), count(o?.completion_tokens), count(details?.cached_tokens));
}

function toWire(m: ChatMessage): { role: string; content: string | Array<{ type: 'text'; text: string }> } {
  return { role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => ({ type: 'text', text: p.text })) };
}

function mapFinish(r: string | null | undefined): FinishReason {
  switch (r) {
    case 'stop':
    case 'length':
    case 'content_filter':
    case 'tool_calls':
      return r;
    case 'function_call':
      return 'tool_calls';
    case null:
    case undefined:
      return 'stop';
    default:
      return 'other';
  }
}

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}
