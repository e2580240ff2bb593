import { ProviderHttpError, ProviderTransportError } from '../errors';
import type { UnifiedRequest } from '../providers/provider.interfaces';
import { Exchange, readText } from '../transport/http';
import type { ChatResult } from '../types';
import type { AttemptEnd, LeasedAttempt } from './attempt.interfaces';
import { buildRequest, outcomeOf, type AttemptRunner } from './attempt-runner';
import type { Call } from './call';

/** A successful answer, before the call adds its latency and attempts. */
export type ChatAnswer = Omit<ChatResult, 'attempts' | 'latencyMs'>;

/**
 * The middle of a `chat()` attempt: one HTTP exchange with the leased key, the answer classified (error answer →
 * its class; unparsable 200 → transient; a 200 the adapter refuses → its class) and settled through the runner.
 */
export async function chatAttempt(r: AttemptRunner, call: Call, at: LeasedAttempt, req: UnifiedRequest, now: () => number): Promise<{ end: AttemptEnd; answer?: ChatAnswer }> {
  const { key, adapter, target } = at;
  const provider = key.provider;
  // The provider's deadlines and size caps (timeoutMs, maxResponseBytes).
  const ex = new Exchange(provider, key.settings, call.limits.signal);
  try {
    let res: Response;
    let text: string;
    try {
      res = await ex.send(await buildRequest(adapter, target, req, false));
      text = await readText(ex, res);
    } catch (e) {
      return { end: await r.fail(call, at, e) };
    }
    if (!res.ok) {
      const c = adapter.classifyError(res.status, res.headers, text, now());
      return { end: await r.settle(call, at, outcomeOf(c), r.httpError(at, c)) };
    }
    let parsed;
    try {
      parsed = adapter.parseResponse(JSON.parse(text), target);
    } catch (e) {
      // An adapter may refuse a well-formed answer with a classified error (e.g. Gemini's blocked prompt: 200, no candidates).
      if (e instanceof ProviderHttpError) return { end: await r.settle(call, at, outcomeOf(e), r.scrubbed(e)) };
      const err = r.asLibraryError(at, e);
      const malformed = err instanceof ProviderTransportError ? err : new ProviderTransportError(provider, `${provider} sent a malformed response: ${err.message}`, 'EMALFORMED');
      return { end: await r.settle(call, at, { kind: 'transient' }, malformed) };
    }
    const cooldownUntil = adapter.successCooldownUntil(res.headers, now());
    const end = await r.settle(call, at, { kind: 'success', cooldownUntil }, undefined, parsed.usage);
    return {
      end,
      answer: {
        content: parsed.content,
        model: parsed.model ?? at.step.model,
        provider,
        keyId: key.keyId,
        finishReason: parsed.finishReason,
        usage: parsed.usage,
        costUsd: end.costUsd ?? 'unknown',
      },
    };
  } finally {
    ex.finish(false);
  }
}
