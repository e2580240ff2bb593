import { performance } from 'node:perf_hooks';
import { AllKeysExhaustedError, NoAvailableKeyError } from '../errors';
import type { CallObserver, CallSource } from '../observability/observer.interfaces';
import type { Attempt, ProviderName } from '../types';

/** Per-call options the walk honours. */
export interface CallLimits {
  signal?: AbortSignal;
  /** Wait up to this long for a key to come back (or to win a lease race) instead of failing. */
  maxWaitMs?: number;
}

/**
 * One call's state while its attempts are made (chat, stream, acquire or fetch): the attempts so far, the keys it
 * already failed with in the current round, and what the walk learnt when it ran out of keys.
 */
export class Call {
  readonly attempts: Attempt[] = [];
  readonly startedAt = performance.now();
  /** Keys this call already used (and failed with) in the current round. */
  tried: Set<string> | undefined;
  /** Set when the walk ends without a key: ms until the soonest benched key is back. */
  wait: number | undefined;
  lastError: Error | undefined;

  constructor(
    readonly source: CallSource,
    readonly model: string,
    readonly provider: ProviderName | undefined,
    readonly requestId: string,
    readonly limits: CallLimits,
    readonly obs: CallObserver | undefined,
  ) {}

  /** Remembers a failed attempt's key and error, so the walk moves on to another key. */
  failedWith(keyId: string, error: Error | undefined): void {
    if (error !== undefined) this.lastError = error;
    (this.tried ??= new Set()).add(keyId);
  }

  /** The error when no key could serve the call (every attempt is in `attempts`, the soonest return in `retryAfterMs`). */
  exhausted(): NoAvailableKeyError {
    const { model, attempts, wait, lastError } = this;
    const what = model !== '' ? `"${model}"` : `provider "${this.provider ?? '?'}"`;
    const tail = wait !== undefined ? `; the soonest key is back in ${wait} ms` : '';
    if (attempts.length === 0) {
      if (lastError !== undefined) return withCause(new AllKeysExhaustedError(`No key could serve ${what}: ${lastError.message}${tail}`, attempts, wait), lastError);
      return new NoAvailableKeyError(`No key for ${what} is available now${tail}`, attempts, wait);
    }
    const list = attempts.map((a) => `${a.keyId}: ${a.outcome}${a.status ? ` ${a.status}` : ''}${a.errorClass ? ` (${a.errorClass})` : ''}`).join(', ');
    const err = new AllKeysExhaustedError(`All keys for ${what} failed [${list}]${tail}`, attempts, wait);
    return lastError !== undefined ? withCause(err, lastError) : err;
  }
}

function withCause<E extends Error>(err: E, cause: Error): E {
  (err as { cause?: unknown }).cause = cause;
  return err;
}
