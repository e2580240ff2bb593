import type { AttemptRunner } from '../attempt/attempt-runner';
import type { Runtime } from '../attempt/attempt.interfaces';
import type { Call, CallLimits } from '../attempt/call';
import type { ProviderName } from '../types';
import type { FetchCredentials } from './credentials';

/** `fetch`'s own signature: what the official clients and the AI SDKs accept as their `fetch` option. */
export type RotatingFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of `fetchFor(provider, opts)`. */
export interface FetchForOptions {
  /**
   * The model to restrict keys to when a request does not name one (a multipart upload, a GET). A model named by the
   * request (its JSON body's `model`, or the model in the URL for Gemini, Vertex AI, Bedrock and Azure deployments)
   * wins. Neither: any key of the provider.
   */
  model?: string;
  /** Wait up to this long for a key to come back (or to win a lease race) instead of answering "exhausted". Default 0. */
  maxWaitMs?: number;
  /**
   * When every key is exhausted: `'response'` (default) hands back the last error answer (or a synthesized 429/503 in
   * the provider's error format) with `Retry-After` set to the soonest key's return, so the client's own retry logic
   * waits the right time; `'throw'` rejects with the library's `NoAvailableKeyError` / `AllKeysExhaustedError`.
   */
  onExhausted?: 'response' | 'throw';
}

/**
 * What a rotating fetch needs of its engine: the shared attempt path (walk + lease, settle, fail), the call's
 * bookkeeping (start, end, calls in flight) and the secret scrubber. The engine builds one per instance.
 */
export interface FetchHost {
  readonly runner: AttemptRunner;
  /** The configuration in force (waits for start-up; rejects once closed). */
  runtime(): Runtime | Promise<Runtime>;
  /** Starts a call (request id, observer hooks) with `source: 'fetch'`. */
  begin(model: string, provider: ProviderName, limits: CallLimits): Call;
  /** Tells the observers how a call that ended in an error ended. */
  failed(call: Call, error: unknown): void;
  /** Counts a request in flight (throws `ClosedError` once closed); `leave` when its answer is consumed or handed back. */
  enter(): void;
  leave(): void;
  now(): number;
  /** Removes every known secret from a text that leaves the library. */
  scrub(text: string): string;
  readonly credentials: FetchCredentials;
}
