import type { Exchange, HttpRequest } from '../../transport/http';
import { readSse } from '../../transport/sse';
import type { ChatMessage, FinishReason, ProviderName } from '../../types';
import { errorMessageOf, kindOfStatus, parseDuration, retryAfterMs } from '../http-errors';
import type { CallTarget, ClassifiedError, ParsedResult, ProviderAdapter, StreamDelta, UnifiedRequest } from '../provider.interfaces';

type Flavor = 'openai' | 'openrouter' | 'azure_openai';

const DEFAULT_BASE: Record<Flavor, string> = {
  openai: 'https://api.openai.com/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  azure_openai: '',
};
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

interface OpenAiChoice {
  message?: { content?: string | null };
  delta?: { content?: string | null };
  finish_reason?: string | null;
}
interface OpenAiBody {
  model?: string;
  choices?: OpenAiChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string; code?: string | number; type?: string };
}

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
      headers['api-key'] = t.secret;
    } else {
      url = `${base}/chat/completions`;
      body.model = t.model;
      headers.authorization = `Bearer ${t.secret}`;
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
    const b = raw as OpenAiBody;
    const choice = Array.isArray(b?.choices) ? b.choices[0] : undefined;
    if (choice === undefined || typeof choice !== 'object') throw new TypeError('response has no choices');
    const content = choice.message?.content;
    if (content !== null && content !== undefined && typeof content !== 'string') throw new TypeError('choices[0].message.content is not text');
    return {
      content: content ?? '',
      finishReason: mapFinish(choice.finish_reason),
      usage: { inputTokens: b.usage?.prompt_tokens ?? 0, outputTokens: b.usage?.completion_tokens ?? 0 },
      model: typeof b.model === 'string' ? b.model : undefined,
    };
  }

  async *readStream(ex: Exchange, res: Response): AsyncIterable<StreamDelta> {
    if (res.body === null) throw new TypeError('stream has no body');
    for await (const ev of readSse(ex, res.body)) {
      if (ev.data === '[DONE]') return;
      const b = JSON.parse(ev.data) as OpenAiBody;
      if (b.error !== undefined) {
        const status = typeof b.error.code === 'number' ? b.error.code : 500;
        yield { error: { kind: kindOfStatus(status), status, message: b.error.message ?? 'stream error' } };
        return;
      }
      const choice = Array.isArray(b.choices) ? b.choices[0] : undefined;
      const out: StreamDelta = {};
      const text = choice?.delta?.content;
      if (typeof text === 'string' && text.length > 0) out.delta = text;
      if (choice?.finish_reason) out.finishReason = mapFinish(choice.finish_reason);
      if (b.usage) out.usage = { inputTokens: b.usage.prompt_tokens ?? 0, outputTokens: b.usage.completion_tokens ?? 0 };
      if (out.delta !== undefined || out.finishReason !== undefined || out.usage !== undefined) yield out;
    }
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
