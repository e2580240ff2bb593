import type { AttemptOutcome, ProviderName, Usage, UsageEvent } from '../types';

/** What kind of call an observation belongs to. */
export type CallSource = 'chat' | 'stream' | 'acquire' | 'fetch';

export interface CallStart {
  readonly source: CallSource;
  /** The model asked for ('' for an acquire without a model, or a fetch whose body names none). */
  readonly model: string;
  /** Set when the caller restricted the call to one provider (always set for acquire and fetch). */
  readonly provider: ProviderName | undefined;
  readonly requestId: string;
}

export interface AttemptStart {
  readonly provider: ProviderName;
  /** The model id sent to this key's provider (a fallback's, when `fallback`). */
  readonly model: string;
  readonly keyId: string;
  /** 1 for the call's first attempt; every later one is a rotation. */
  readonly attempt: number;
  /** True when this attempt belongs to a fallback step (another model or provider than the one asked for). */
  readonly fallback: boolean;
}

export interface CallEnd {
  /** `success`, or how the call failed (`exhausted`: no key could serve it). */
  readonly outcome: AttemptOutcome | 'exhausted';
  readonly error?: Error;
  /** The answer's key, provider, model and usage on success. */
  readonly keyId?: string;
  readonly provider?: ProviderName;
  readonly model?: string;
  readonly usage?: Usage;
  readonly attempts: number;
}

/**
 * Hooks the engine calls around every call and every attempt (tracing, metrics). Nothing is built for them
 * unless one is registered (`LlmRotate.addObserver`). Observers must not throw; the engine isolates them anyway.
 */
export interface EngineObserver {
  callStarted(call: CallStart): CallObserver | undefined;
}

export interface CallObserver {
  attemptStarted(attempt: AttemptStart): AttemptObserver | undefined;
  callEnded(end: CallEnd): void;
}

export interface AttemptObserver {
  /** The attempt's usage event (the same object `onUsage` listeners get). */
  attemptEnded(event: UsageEvent): void;
}
