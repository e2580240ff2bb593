/** Public data model shared by every provider: the unified request, result and stream chunk. */
import type { EstimatedCost } from './observability/pricing/price.interfaces';

export const PROVIDERS = [
  'openai',
  'anthropic',
  'google_ai_studio',
  'google_vertex',
  'openrouter',
  'azure_openai',
  'bedrock',
] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export type Role = 'system' | 'user' | 'assistant';

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ChatMessage {
  role: Role;
  /** Plain text or a list of text parts. */
  content: string | readonly TextPart[];
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'error' | 'other';

export interface Usage {
  /** Every input token, cached ones included. */
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`, those read from the provider's prompt cache (when it says), priced at the cached rate. */
  cachedInputTokens?: number;
}

/** Error classes of SPEC §4. */
export type ErrorKind = 'rate_limit' | 'auth' | 'transient' | 'bad_request';

/**
 * What an attempt ended with, as recorded on results, errors and usage events. `local_error`: the key could not be
 * used from this process (its secret cannot be resolved, the request cannot be built); it says nothing of the key's
 * health, so the key is only held back locally for a while.
 */
export type AttemptOutcome = 'success' | ErrorKind | 'cancelled' | 'local_error';

export interface Attempt {
  provider: ProviderName;
  model: string;
  keyId: string;
  outcome: AttemptOutcome;
  /** Error class name (e.g. `ProviderHttpError`, `TimeoutError`); absent on success. */
  errorClass?: string;
  /** The error's message, scrubbed of secrets; absent on success. */
  message?: string;
  status?: number;
  latencyMs: number;
}

export interface ChatResult {
  content: string;
  model: string;
  provider: ProviderName;
  keyId: string;
  finishReason: FinishReason;
  usage: Usage;
  /** Estimated USD from the price table, or 'unknown' when the model has no price. */
  costUsd: EstimatedCost;
  latencyMs: number;
  attempts: Attempt[];
}

export interface ChatChunk {
  delta: string;
  provider: ProviderName;
  model: string;
  keyId: string;
  /** Present on the last chunk only. */
  finishReason?: FinishReason;
  /** Present on the last chunk only. */
  usage?: Usage;
  /** Present on the last chunk only: estimated USD, or 'unknown' when the model has no price. */
  costUsd?: EstimatedCost;
}

export interface ChatOptions {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  /** Cancels the call (and the upstream request). A caller's abort never counts against a key. */
  signal?: AbortSignal;
  /** Wait up to this long for the soonest key to come back instead of failing. Default 0. */
  maxWaitMs?: number;
  /**
   * Restrict the call to one provider: only its keys are tried (the model's own fallback models too, on that provider);
   * a provider chain (`fallbacks` keyed by a provider) is walked only when the provider was inferred from the model.
   */
  provider?: ProviderName;
  /** Walk the fallback chain when the model's keys are exhausted. Default true. */
  fallback?: boolean;
}

export interface AcquireOptions {
  model?: string;
  signal?: AbortSignal;
  maxWaitMs?: number;
}

/** A structured record of one attempt, emitted to subscribers and logged at debug level. */
export interface UsageEvent {
  timestamp: number;
  requestId: string;
  source: 'chat' | 'stream' | 'acquire' | 'fetch';
  provider: ProviderName;
  model: string;
  keyId: string;
  outcome: AttemptOutcome;
  errorClass?: string;
  status?: number;
  latencyMs: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Of the input tokens, those read from the provider's prompt cache (when it says). */
  cachedInputTokens?: number;
  /** On success: estimated USD from the price table, or 'unknown' when the model has no price (never a misleading 0). */
  costUsd?: EstimatedCost;
  /** 1 for a call's first attempt; a higher number is a rotation to another key. */
  attempt: number;
  /** True when the attempt served a fallback (another model or provider than the one asked for). */
  fallback: boolean;
}
