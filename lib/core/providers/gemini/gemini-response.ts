import { CallCancelledError, ProviderBadRequestError } from '../../errors';
import { expectStream, type Exchange } from '../../transport/http';
import { readSse } from '../../transport/sse';
import type { FinishReason, ProviderName, Usage } from '../../types';
import type { ClassifiedError, ParsedResult, StreamDelta } from '../provider.interfaces';
import { count, usage as usageOfCounts, endedEarly, isObject, libraryErrorsOnly, listAt, malformed, objectAt, parseEvent, textAt, type WireObject } from '../wire-checks';
import { classifyRpcError, rpcErrorFrom } from './google-errors';

/** Maps one `GenerateContentResponse` to the unified result (the first candidate's text, thoughts left out). */
export function parseGeminiResponse(provider: ProviderName, raw: unknown): ParsedResult {
  if (!isObject(raw)) throw malformed(provider, 'the answer is not a GenerateContentResponse object');
  const blocked = blockedPrompt(provider, raw);
  if (blocked !== undefined) throw new ProviderBadRequestError(provider, 200, 'bad_request', `${provider} answered 200: ${blocked.message}`);
  const cand = objectAt(provider, listAt(provider, raw.candidates, 'candidates')?.[0], 'candidates[0]');
  if (cand === undefined) throw malformed(provider, 'the answer has no candidates');
  return {
    content: textOf(provider, cand) ?? '',
    finishReason: mapFinishReason(textAt(provider, cand.finishReason, 'candidates[0].finishReason')) ?? 'stop',
    usage: usageOf(raw.usageMetadata),
    model: typeof raw.modelVersion === 'string' ? raw.modelVersion : undefined,
  };
}

/**
 * Decodes `streamGenerateContent?alt=sse`: each SSE `data:` is a whole `GenerateContentResponse`; the last one
 * carries the finish reason and the final usage. The stream is complete once a candidate's `finishReason` arrived
 * (a cut after it loses nothing of the answer); one that ends before is cut short, a transient failure. A prompt
 * blocked up front or an `error` event ends the stream with a classified error.
 */
export function readGeminiStream(ex: Exchange, res: Response, provider: ProviderName): AsyncIterable<StreamDelta> {
  return libraryErrorsOnly(provider, decode(ex, res, provider));
}

async function* decode(ex: Exchange, res: Response, p: ProviderName): AsyncGenerator<StreamDelta> {
  const body = await expectStream(ex, res);
  let finished = false;
  try {
    for await (const ev of readSse(ex, body)) {
      const b = parseEvent(p, ev.data);
      if (b.error !== undefined && b.error !== null) {
        const err = isObject(b.error) ? b.error : { message: String(b.error) };
        yield { error: classifyRpcError(typeof err.code === 'number' ? err.code : 500, rpcErrorFrom(err), undefined) };
        return;
      }
      const blocked = blockedPrompt(p, b);
      if (blocked !== undefined) {
        yield { error: blocked };
        return;
      }
      const cand = objectAt(p, listAt(p, b.candidates, 'candidates')?.[0], 'candidates[0]');
      const out: StreamDelta = {};
      const text = cand === undefined ? undefined : textOf(p, cand, ex);
      if (text !== undefined && text.length > 0) out.delta = text;
      const fr = mapFinishReason(textAt(p, cand?.finishReason, 'candidates[0].finishReason'));
      if (fr !== undefined) {
        out.finishReason = fr;
        finished = true;
      }
      if (isObject(b.usageMetadata)) out.usage = usageOf(b.usageMetadata);
      if (out.delta !== undefined || out.finishReason !== undefined || out.usage !== undefined) yield out;
    }
  } catch (e) {
    if (finished && !(e instanceof CallCancelledError)) return;
    throw e;
  }
  if (!finished) throw endedEarly(p, 'a candidate\'s finishReason');
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

/** Output tokens include a thinking model's thoughts: they are billed as output. A usage of the wrong shape counts as none. */
function usageOf(raw: unknown): Usage {
  const u = isObject(raw) ? raw : undefined;
  return usageOfCounts(count(u?.promptTokenCount), count(u?.candidatesTokenCount) + count(u?.thoughtsTokenCount), count(u?.cachedContentTokenCount));
}

/** The candidate's answer text (thoughts left out); reports thought parts to the first-token deadline. */
function textOf(p: ProviderName, c: WireObject, ex?: Exchange): string | undefined {
  const parts = listAt(p, objectAt(p, c.content, 'candidates[0].content')?.parts, 'candidates[0].content.parts');
  if (parts === undefined) return undefined;
  let s = '';
  for (const raw of parts) {
    const part = objectAt(p, raw, 'a content part');
    const text = textAt(p, part?.text, 'a part\'s text');
    if (text === undefined) continue;
    if (part?.thought === true) ex?.firstToken();
    else s += text;
  }
  return s;
}

/** A prompt Gemini refused before generating anything: the caller's content, so another key would fail the same. */
function blockedPrompt(p: ProviderName, b: WireObject): ClassifiedError | undefined {
  const feedback = objectAt(p, b.promptFeedback, 'promptFeedback');
  const reason = feedback?.blockReason;
  if (reason === undefined || reason === null || (Array.isArray(b.candidates) && b.candidates.length > 0)) return undefined;
  const detail = typeof feedback?.blockReasonMessage === 'string' && feedback.blockReasonMessage ? `: ${feedback.blockReasonMessage}` : '';
  return { kind: 'bad_request', status: 200, message: `the prompt was blocked (blockReason ${String(reason).slice(0, 60)})${detail}` };
}
