import { CallCancelledError, StreamInterruptedError } from '../errors';
import type { Outcome } from '../health/health.interfaces';
import type { UnifiedRequest } from '../providers/provider.interfaces';
import { Exchange, readText } from '../transport/http';
import type { ChatChunk, Usage } from '../types';
import type { AttemptEnd, LeasedAttempt } from './attempt.interfaces';
import { buildRequest, outcomeOf, type AttemptRunner } from './attempt-runner';
import type { Call } from './call';
import { classifyThrown } from '../classify';

/**
 * The middle of a `stream()` attempt. Returns how the attempt ended: a success once the stream completed, or the
 * failure when nothing was yielded yet (the call fails over). A consumer that stops reading never sees a return. After the first chunk a failure is settled against the
 * key and thrown to the caller as {@link StreamInterruptedError} (a caller's abort stays a CallCancelledError).
 * Breaking out of the loop or aborting the signal cancels the upstream request and releases the key.
 */
export async function* streamAttempt(r: AttemptRunner, call: Call, at: LeasedAttempt, req: UnifiedRequest, now: () => number): AsyncGenerator<ChatChunk, AttemptEnd, undefined> {
  const { key, adapter, target } = at;
  const provider = key.provider;
  const model = at.step.model;
  // The provider's deadlines (timeoutMs between chunks, firstTokenTimeoutMs until the first token) and size caps.
  const ex = new Exchange(provider, key.settings, call.limits.signal);
  let yielded = false;
  const settle = (outcome: Outcome, error: Error | undefined, usage?: Usage): Promise<AttemptEnd> => r.settle(call, at, outcome, error, usage);
  /** After the first chunk a failure reaches the caller as a stream interruption (after it was settled). */
  const interrupted = (end: AttemptEnd): Error => {
    const err = end.error as Error;
    if (err instanceof CallCancelledError || end.outcome.kind === 'cancelled') return err;
    const k = end.outcome.kind;
    const kind = k === 'rate_limit' || k === 'auth' || k === 'bad_request' ? k : 'transient';
    return new StreamInterruptedError(provider, key.keyId, kind, `The ${provider} stream of key "${key.keyId}" broke after its first chunk: ${err.message}`, { cause: err });
  };
  try {
    let res: Response;
    try {
      res = await ex.send(await buildRequest(adapter, target, req, true));
    } catch (e) {
      return await r.fail(call, at, e);
    }
    if (!res.ok) {
      const text = await readText(ex, res).catch(() => '');
      const c = adapter.classifyError(res.status, res.headers, text, now());
      return await settle(outcomeOf(c), r.httpError(at, c));
    }
    const cooldownUntil = adapter.successCooldownUntil(res.headers, now());
    let finishReason: ChatChunk['finishReason'];
    let inputTokens = 0;
    let outputTokens = 0;
    let cachedInputTokens = 0;
    try {
      for await (const d of adapter.readStream(ex, res, target)) {
        // Text, a finish or an error is the first token (keep-alives are not): its deadline stops.
        if (d.delta || d.finishReason !== undefined || d.error !== undefined) ex.firstToken();
        if (d.error !== undefined) {
          const end = await settle(outcomeOf(d.error), r.httpError(at, d.error));
          if (!yielded) return end;
          throw interrupted(end);
        }
        if (d.usage !== undefined) {
          if (d.usage.inputTokens !== undefined) inputTokens = d.usage.inputTokens;
          if (d.usage.outputTokens !== undefined) outputTokens = d.usage.outputTokens;
          if (d.usage.cachedInputTokens !== undefined) cachedInputTokens = d.usage.cachedInputTokens;
        }
        if (d.finishReason !== undefined) finishReason = d.finishReason;
        if (d.delta !== undefined && d.delta.length > 0) {
          yielded = true;
          yield { delta: d.delta, provider, model, keyId: key.keyId };
        }
      }
    } catch (e) {
      if (at.ended) throw e;
      const err = r.asLibraryError(at, e);
      const end = await settle(classifyThrown(err, now()), err);
      if (!yielded) return end;
      throw interrupted(end);
    }
    const usage: Usage = cachedInputTokens > 0 ? { inputTokens, outputTokens, cachedInputTokens } : { inputTokens, outputTokens };
    const end = await settle({ kind: 'success', cooldownUntil }, undefined, usage);
    yield { delta: '', provider, model, keyId: key.keyId, finishReason: finishReason ?? 'stop', usage, costUsd: end.costUsd ?? 'unknown' };
    return end;
  } finally {
    // Reached with the attempt open only when the consumer stopped early (break / return / throw into us).
    ex.finish(!at.ended);
    if (!at.ended) await settle({ kind: 'cancelled' }, new CallCancelledError('The stream was closed by its consumer'));
  }
}
