import { ProviderBadRequestError } from '../../errors';
import type { Exchange } from '../../transport/http';
import { readSse } from '../../transport/sse';
import type { FinishReason, ProviderName, Usage } from '../../types';
import type { ClassifiedError, ParsedResult, StreamDelta } from '../provider.interfaces';
import type { GeminiCandidate, GeminiResponseBody, GeminiUsageMetadata } from './gemini.wire';
import { classifyRpcError } from './google-errors';

/** Maps one `GenerateContentResponse` to the unified result (the first candidate's text, thoughts left out). */
export function parseGeminiResponse(provider: ProviderName, raw: unknown): ParsedResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError('response is not a GenerateContentResponse object');
  const b = raw as GeminiResponseBody;
  const blocked = blockedPrompt(b);
  if (blocked !== undefined) throw new ProviderBadRequestError(provider, 200, 'bad_request', `${provider} answered 200: ${blocked.message}`);
  const cand = Array.isArray(b.candidates) ? b.candidates[0] : undefined;
  if (cand === undefined || typeof cand !== 'object' || cand === null) throw new TypeError('response has no candidates');
  return {
    content: textOf(cand) ?? '',
    finishReason: mapFinishReason(cand.finishReason) ?? 'stop',
    usage: usageOf(b.usageMetadata),
    model: typeof b.modelVersion === 'string' ? b.modelVersion : undefined,
  };
}

/**
 * Decodes `streamGenerateContent?alt=sse`: each SSE `data:` is a whole `GenerateContentResponse`; the last one
 * carries the finish reason and the final usage. A prompt blocked up front or an `error` event ends the stream
 * with a classified error.
 */
export async function* readGeminiStream(ex: Exchange, res: Response): AsyncGenerator<StreamDelta> {
  if (res.body === null) throw new TypeError('stream has no body');
  for await (const ev of readSse(ex, res.body)) {
    const b = JSON.parse(ev.data) as GeminiResponseBody;
    if (typeof b !== 'object' || b === null) throw new SyntaxError('stream event is not a GenerateContentResponse');
    if (b.error !== undefined) {
      yield { error: classifyRpcError(typeof b.error.code === 'number' ? b.error.code : 500, b.error, undefined) };
      return;
    }
    const blocked = blockedPrompt(b);
    if (blocked !== undefined) {
      yield { error: blocked };
      return;
    }
    const cand = Array.isArray(b.candidates) ? b.candidates[0] : undefined;
    const out: StreamDelta = {};
    const text = cand === undefined ? undefined : textOf(cand);
    if (text !== undefined && text.length > 0) out.delta = text;
    const fr = mapFinishReason(cand?.finishReason);
    if (fr !== undefined) out.finishReason = fr;
    if (b.usageMetadata !== undefined) out.usage = usageOf(b.usageMetadata);
    if (out.delta !== undefined || out.finishReason !== undefined || out.usage !== undefined) yield out;
  }
}

/** Gemini's finish reasons; undefined when the candidate has none yet (a stream's middle chunks). */
export function mapFinishReason(r: string | undefined): FinishReason | undefined {
  switch (r) {
    case undefined:
    case '':
      return undefined;
    case 'STOP':
      return 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    default:
      return 'other';
  }
}

/** Output tokens include a thinking model's thoughts: they are billed as output. */
function usageOf(u: GeminiUsageMetadata | undefined): Usage {
  return {
    inputTokens: num(u?.promptTokenCount),
    outputTokens: num(u?.candidatesTokenCount) + num(u?.thoughtsTokenCount),
  };
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function textOf(c: GeminiCandidate): string | undefined {
  const parts = c.content?.parts;
  if (parts === undefined) return undefined;
  if (!Array.isArray(parts)) throw new TypeError('candidates[0].content.parts is not a list');
  let s = '';
  for (const p of parts) if (typeof p?.text === 'string' && p.thought !== true) s += p.text;
  return s;
}

/** A prompt Gemini refused before generating anything: the caller's content, so another key would fail the same. */
function blockedPrompt(b: GeminiResponseBody): ClassifiedError | undefined {
  const reason = b.promptFeedback?.blockReason;
  if (reason === undefined || (Array.isArray(b.candidates) && b.candidates.length > 0)) return undefined;
  const extra = b.promptFeedback?.blockReasonMessage ? `: ${b.promptFeedback.blockReasonMessage}` : '';
  return { kind: 'bad_request', status: 200, message: `the prompt was blocked (blockReason ${reason})${extra}` };
}
