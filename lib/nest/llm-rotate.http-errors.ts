import { STATUS_CODES } from 'node:http';
import {
  CallCancelledError,
  ClosedError,
  ConfigurationError,
  InvalidRequestError,
  LlmRotateError,
  NoAvailableKeyError,
  ProviderBadRequestError,
  ProviderHttpError,
  ProviderTimeoutError,
  ProviderTransportError,
  StreamInterruptedError,
  UnknownModelError,
  UnsupportedFeatureError,
} from '../core/errors';
import type { AttemptOutcome, ProviderName } from '../core/types';

export interface LlmRotateHttpErrorOptions {
  /**
   * Show key ids to the client: the library's own message (which may list them) and `attempts` by key id on
   * 503 answers. Default false: messages are built from the error's fields and name no key.
   */
  exposeKeyIds?: boolean;
}

/** One attempt as shown with `exposeKeyIds` (never a secret or a secretRef). */
export interface LlmRotateHttpAttempt {
  keyId: string;
  provider: ProviderName;
  model: string;
  outcome: AttemptOutcome;
  status?: number;
  errorClass?: string;
}

/** The JSON body of an error answer. */
export interface LlmRotateErrorBody {
  statusCode: number;
  /** The status' reason phrase (`Service Unavailable`). */
  error: string;
  message: string;
  /** The library's error class (`AllKeysExhaustedError`, `ProviderBadRequestError`, …). */
  type: string;
  /** When the soonest key is back (no key available now), if known. */
  retryAfterMs?: number;
  /** Only with `exposeKeyIds`. */
  attempts?: LlmRotateHttpAttempt[];
}

/** An HTTP answer for a library error: status, extra headers (`Retry-After`) and the JSON body. */
export interface LlmRotateHttpError {
  status: number;
  headers: Record<string, string>;
  body: LlmRotateErrorBody;
  /** How loudly the filter logs it: a 500 is our bug or our configuration, a 502/504 the upstream's. */
  logLevel: 'error' | 'warn' | 'debug' | undefined;
}

/** The data of an SSE `error` event: `event: error` / `data: {"type":…,"message":…,"retryAfterMs":…}`. */
export interface LlmRotateSseErrorData {
  type: string;
  message: string;
  retryAfterMs?: number;
}

/** An `error` event as Nest's `@Sse()` writes it (`type` is the SSE event name). */
export interface LlmRotateSseErrorEvent {
  type: 'error';
  data: LlmRotateSseErrorData;
}

/** The status codes a provider's "your request is wrong" may keep; any other becomes 400. */
const CALLER_STATUSES = new Set([400, 404, 413, 422]);

/**
 * The library's errors as HTTP answers (the table in the README, "Errors over HTTP"). Returns undefined for
 * {@link CallCancelledError}: the caller went away, there is nobody to answer.
 */
export function llmRotateErrorToHttp(e: LlmRotateError, options: LlmRotateHttpErrorOptions = {}): LlmRotateHttpError | undefined {
  if (e instanceof CallCancelledError) return undefined;
  if (e instanceof NoAvailableKeyError) {
    const a = answer(503, e, options.exposeKeyIds ? e.message : noKeyMessage(e), undefined, e.retryAfterMs);
    if (e.retryAfterMs !== undefined) a.headers['Retry-After'] = String(Math.max(0, Math.ceil(e.retryAfterMs / 1000)));
    if (options.exposeKeyIds) {
      a.body.attempts = e.attempts.map((t) => ({ keyId: t.keyId, provider: t.provider, model: t.model, outcome: t.outcome, status: t.status, errorClass: t.errorClass }));
    }
    return a;
  }
  if (e instanceof ProviderBadRequestError) return answer(CALLER_STATUSES.has(e.status) ? e.status : 400, e, e.message);
  if (e instanceof InvalidRequestError || e instanceof UnsupportedFeatureError) return answer(400, e, e.message);
  // A configuration problem, not an outage: asking again will not help, so not a 503.
  if (e instanceof UnknownModelError) return answer(404, e, `Unknown model "${e.model}": no configured key serves it`);
  if (e instanceof ConfigurationError) return answer(500, e, 'The LLM key pool is misconfigured', 'error');
  if (e instanceof ProviderTimeoutError) return answer(504, e, e.message, 'warn');
  if (e instanceof StreamInterruptedError) {
    const timeout = e.cause instanceof ProviderTimeoutError;
    return answer(timeout ? 504 : 502, e, options.exposeKeyIds ? e.message : `The ${e.provider} stream was interrupted${timeout ? ' (timeout)' : ''}`, 'warn');
  }
  if (e instanceof ProviderHttpError || e instanceof ProviderTransportError) return answer(502, e, e.message, 'warn');
  if (e instanceof ClosedError) return answer(503, e, 'The service is shutting down');
  // SecretResolutionError, RequestBuildError, anything new: our side, and its message is for the server log.
  return answer(500, e, `Internal error (${e.name})`, 'error');
}

/**
 * The SSE `error` event for an error met while streaming (after the `200` and the first events went out, an HTTP
 * status is no longer possible). Returns undefined for {@link CallCancelledError} (the client left). Use it in your
 * own observables: `catchError((e) => { const ev = llmRotateErrorToSse(e); return ev ? of(ev) : EMPTY; })`.
 */
export function llmRotateErrorToSse(e: unknown, options: LlmRotateHttpErrorOptions = {}): LlmRotateSseErrorEvent | undefined {
  if (!(e instanceof LlmRotateError)) return { type: 'error', data: { type: 'InternalError', message: 'The stream failed on the server' } };
  const http = llmRotateErrorToHttp(e, options);
  if (http === undefined) return undefined;
  const data: LlmRotateSseErrorData = { type: http.body.type, message: http.body.message };
  if (http.body.retryAfterMs !== undefined) data.retryAfterMs = http.body.retryAfterMs;
  return { type: 'error', data };
}

function answer(status: number, e: LlmRotateError, message: string, logLevel?: 'error' | 'warn', retryAfterMs?: number): LlmRotateHttpError {
  const body: LlmRotateErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, type: e.name };
  if (retryAfterMs !== undefined) body.retryAfterMs = retryAfterMs;
  return { status, headers: {}, body, logLevel };
}

/** A 503's message from the error's fields (its own message lists key ids, and may quote a secret's source). */
function noKeyMessage(e: NoAvailableKeyError): string {
  const models = [...new Set(e.attempts.map((a) => `${a.provider}/${a.model}`))];
  const head =
    e.attempts.length === 0
      ? 'No API key is available for this request now'
      : `Every key tried for ${models.join(', ')} failed (${summarize(e.attempts.map((a) => (a.status !== undefined ? `${a.outcome} ${a.status}` : a.outcome)))})`;
  return e.retryAfterMs === undefined ? head : `${head}; retry in ${Math.max(0, Math.ceil(e.retryAfterMs / 1000))} s`;
}

/** `['rate_limit 429', 'rate_limit 429', 'auth 401']` → `rate_limit 429 ×2, auth 401`. */
function summarize(items: string[]): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ');
}
