import { InvalidRequestError } from '../errors';
import { PROVIDERS, type AcquireOptions, type ChatOptions, type ProviderName } from '../types';
import { MAX_TIMER_MS } from './bounds';

/**
 * Checks the per-call options of `chat()` / `stream()` (and, with `acquire`, of `acquire()` / `withKey()`) before any
 * key is used. Throws {@link InvalidRequestError} naming the field (`opts.maxWaitMs: …`); never echoes a value that
 * is not the caller's own number. `maxWaitMs` above {@link MAX_TIMER_MS} would overflow Node's timer into 1 ms.
 */
export function checkCallOptions(opts: ChatOptions | AcquireOptions | undefined, kind: 'chat' | 'acquire' = 'chat'): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null) throw new InvalidRequestError('opts: must be an object');
  const o = opts as Record<string, unknown>;
  duration(o.maxWaitMs, 'opts.maxWaitMs');
  if (o.signal !== undefined && !isAbortSignal(o.signal)) throw new InvalidRequestError('opts.signal: must be an AbortSignal');
  if (kind === 'acquire') {
    if (o.model !== undefined && (typeof o.model !== 'string' || o.model.length === 0)) throw new InvalidRequestError('opts.model: must be a non-empty string');
    return;
  }
  finite(o.temperature, 'opts.temperature', 0, 2);
  finite(o.topP, 'opts.topP', 0, 1);
  if (o.maxTokens !== undefined && (!Number.isSafeInteger(o.maxTokens) || (o.maxTokens as number) < 1)) {
    throw new InvalidRequestError('opts.maxTokens: must be a positive integer');
  }
  if (o.stop !== undefined && (!Array.isArray(o.stop) || !o.stop.every((s) => typeof s === 'string'))) {
    throw new InvalidRequestError('opts.stop: must be an array of strings');
  }
  if (o.provider !== undefined && !PROVIDERS.includes(o.provider as ProviderName)) {
    throw new InvalidRequestError(`opts.provider: must be one of ${PROVIDERS.join(', ')}`);
  }
  if (o.fallback !== undefined && typeof o.fallback !== 'boolean') throw new InvalidRequestError('opts.fallback: must be a boolean');
}

function duration(v: unknown, field: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidRequestError(`${field}: must be a number of milliseconds ≥ 0`);
  if (v > MAX_TIMER_MS) throw new InvalidRequestError(`${field}: must not be greater than ${MAX_TIMER_MS} (2^31 − 1 ms, about 24.8 days)`);
}

function finite(v: unknown, field: string, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new InvalidRequestError(`${field}: must be a number from ${min} to ${max}`);
}

function isAbortSignal(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as AbortSignal).aborted === 'boolean' && typeof (v as AbortSignal).addEventListener === 'function';
}
