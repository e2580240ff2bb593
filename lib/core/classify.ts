import {
  CallCancelledError,
  InvalidRequestError,
  ProviderHttpError,
  ProviderTimeoutError,
  ProviderTransportError,
  RequestBuildError,
  SecretResolutionError,
  UnsupportedFeatureError,
} from './errors';
import type { Outcome } from './health/health.interfaces';
import { anthropicResetWaitMs } from './providers/anthropic/anthropic.limits';
import { classifyGoogleSdkError } from './providers/gemini/google-errors';
import { kindOfStatus, parseDuration, retryAfterMs } from './providers/http-errors';
import { ownEntry } from './providers/wire-checks';
import type { ErrorKind } from './types';

/** What `AcquireContext.reportError` accepts besides any thrown value. */
export interface ExplicitErrorReport {
  kind: ErrorKind;
  retryAfterMs?: number;
}

const NAME_KINDS: Readonly<Record<string, ErrorKind | 'cancelled'>> = {
  // AWS SDK v3
  ThrottlingException: 'rate_limit',
  TooManyRequestsException: 'rate_limit',
  ServiceQuotaExceededException: 'rate_limit',
  AccessDeniedException: 'auth',
  UnrecognizedClientException: 'auth',
  ExpiredTokenException: 'auth',
  InvalidSignatureException: 'auth',
  IncompleteSignatureException: 'auth',
  ValidationException: 'bad_request',
  ResourceNotFoundException: 'bad_request',
  ModelErrorException: 'transient',
  ModelNotReadyException: 'transient',
  ModelTimeoutException: 'transient',
  ServiceUnavailableException: 'transient',
  InternalServerException: 'transient',
  ModelStreamErrorException: 'transient',
  // openai / @anthropic-ai/sdk
  RateLimitError: 'rate_limit',
  AuthenticationError: 'auth',
  PermissionDeniedError: 'auth',
  BadRequestError: 'bad_request',
  NotFoundError: 'bad_request',
  UnprocessableEntityError: 'bad_request',
  ConflictError: 'transient',
  InternalServerError: 'transient',
  APIConnectionError: 'transient',
  APIConnectionTimeoutError: 'transient',
  APIUserAbortError: 'cancelled',
  // fetch / DOM
  AbortError: 'cancelled',
  TimeoutError: 'transient',
};

/** Google RPC status names (Gemini / Vertex errors carry them in `status` or the message). */
const GRPC_KINDS: Readonly<Record<string, ErrorKind>> = {
  RESOURCE_EXHAUSTED: 'rate_limit',
  UNAUTHENTICATED: 'auth',
  PERMISSION_DENIED: 'auth',
  UNAVAILABLE: 'transient',
  INTERNAL: 'transient',
  DEADLINE_EXCEEDED: 'transient',
  INVALID_ARGUMENT: 'bad_request',
  FAILED_PRECONDITION: 'bad_request',
  NOT_FOUND: 'bad_request',
};

const NETWORK_CODES = /^(ECONNRESET|ECONNREFUSED|ECONNABORTED|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_\w+)$/;

/**
 * Classifies what users actually catch around a vendor SDK call (SPEC §1): the vendors' SDK errors,
 * fetch `Response`s, network errors, or an explicit `{ kind, retryAfterMs? }`. Unknown errors count
 * as transient (a failure of the key), never as the caller's fault.
 */
export function classifyThrown(error: unknown, now: number): Outcome {
  if (typeof error !== 'object' || error === null) return { kind: 'transient' };
  const e = error as Record<string, unknown>;

  if (typeof e.kind === 'string' && isKind(e.kind) && !(error instanceof Error)) {
    return { kind: e.kind, retryAfterMs: typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined };
  }
  if (error instanceof CallCancelledError) return { kind: 'cancelled' };
  // Nothing reached the upstream (an invalid header or URL): not the key's fault, and no other key of the same
  // configuration would do better.
  if (error instanceof RequestBuildError) return { kind: 'bad_request' };
  if (error instanceof ProviderHttpError) return { kind: error.kind, retryAfterMs: error.retryAfterMs };
  if (error instanceof ProviderTimeoutError || error instanceof ProviderTransportError) return { kind: 'transient' };
  // Same as the engine's own calls: a secret that cannot be resolved makes the key unusable here.
  if (error instanceof SecretResolutionError) return { kind: 'auth' };
  // The call asks for something the provider cannot do (e.g. Bedrock's Converse refusing an assistant-first
  // conversation): the caller's fault, and every other key of the provider would refuse it the same way.
  if (error instanceof UnsupportedFeatureError || error instanceof InvalidRequestError) return { kind: 'bad_request' };

  const headers = headersOf(e);
  const retry = headers ? retryAfterMs(headers, now) : undefined;

  const name = typeof e.name === 'string' ? e.name : '';
  const byName = ownEntry(NAME_KINDS, name) ?? ownEntry(NAME_KINDS, typeof e.constructor === 'function' ? e.constructor.name : undefined);
  if (byName === 'cancelled') return { kind: 'cancelled' };

  // A known error name decides before the status: AWS reuses statuses (ModelNotReadyException is a 429 but
  // transient, ServiceQuotaExceededException a 400 but a rate limit, ModelErrorException a 424 but transient).
  if (byName !== undefined) return withRetry(byName, retry);

  // @google/genai's ApiError: the Google error body (status name, ErrorInfo reason, RetryInfo) is JSON in `message`.
  const google = classifyGoogleSdkError(error, now);
  if (google !== undefined) return withRetry(google.kind, google.retryAfterMs ?? retry);

  const status = statusOf(e);
  const grpc = grpcStatusOf(e);
  if (status !== undefined) {
    let kind = kindOfStatus(status);
    if (grpc === 'RESOURCE_EXHAUSTED') kind = 'rate_limit';
    return withRetry(kind, retry ?? (headers && kind === 'rate_limit' ? resetWaitMs(headers, now) : undefined));
  }
  // Vendor error types without a status (e.g. an @anthropic-ai/sdk stream `event: error`).
  const type = typeOf(e);
  if (type !== undefined) return withRetry(TYPE_KINDS[type], retry);
  if (grpc !== undefined) return withRetry(GRPC_KINDS[grpc], retry);

  const code = codeOf(e);
  if (code !== undefined && NETWORK_CODES.test(code)) return { kind: 'transient' };
  return { kind: 'transient' };
}

/** Error `type`s of Anthropic's and OpenAI's error bodies. */
const TYPE_KINDS: Readonly<Record<string, ErrorKind>> = {
  rate_limit_error: 'rate_limit',
  overloaded_error: 'transient',
  api_error: 'transient',
  server_error: 'transient',
  authentication_error: 'auth',
  permission_error: 'auth',
  billing_error: 'auth',
  insufficient_quota: 'rate_limit',
  invalid_request_error: 'bad_request',
  not_found_error: 'bad_request',
  request_too_large: 'bad_request',
};

function typeOf(e: Record<string, unknown>): string | undefined {
  const inner = e.error as { type?: unknown; error?: { type?: unknown } } | undefined;
  for (const v of [e.type, inner?.type === 'error' ? inner.error?.type : inner?.type]) {
    if (typeof v === 'string' && Object.hasOwn(TYPE_KINDS, v)) return v;
  }
  return undefined;
}

/** A 429 without retry-after: the vendors' own window-reset headers (OpenAI durations, Anthropic RFC 3339 times). */
function resetWaitMs(headers: Headers, now: number): number | undefined {
  const openai = Math.max(parseDuration(headers.get('x-ratelimit-reset-requests')) ?? 0, parseDuration(headers.get('x-ratelimit-reset-tokens')) ?? 0);
  if (openai > 0) return openai;
  return anthropicResetWaitMs(headers, now);
}

function withRetry(kind: ErrorKind, retry: number | undefined): Outcome {
  return kind === 'rate_limit' && retry !== undefined ? { kind, retryAfterMs: retry } : { kind };
}

function isKind(k: string): k is ErrorKind {
  return k === 'rate_limit' || k === 'auth' || k === 'transient' || k === 'bad_request';
}

function statusOf(e: Record<string, unknown>): number | undefined {
  const meta = e.$metadata as { httpStatusCode?: unknown } | undefined;
  const response = e.response as { status?: unknown } | undefined;
  for (const v of [e.status, e.statusCode, meta?.httpStatusCode, response?.status, e.code]) {
    if (typeof v === 'number' && v >= 100 && v < 600) return v;
  }
  return undefined;
}

function grpcStatusOf(e: Record<string, unknown>): string | undefined {
  for (const v of [e.status, (e.error as { status?: unknown } | undefined)?.status]) {
    if (typeof v === 'string' && Object.hasOwn(GRPC_KINDS, v)) return v;
  }
  const msg = typeof e.message === 'string' ? e.message : '';
  const m = /\b(RESOURCE_EXHAUSTED|UNAUTHENTICATED|PERMISSION_DENIED|UNAVAILABLE|DEADLINE_EXCEEDED|INVALID_ARGUMENT)\b/.exec(msg);
  return m?.[1];
}

function codeOf(e: Record<string, unknown>): string | undefined {
  if (typeof e.code === 'string') return e.code;
  const cause = e.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function headersOf(e: Record<string, unknown>): Headers | undefined {
  const $response = e.$response as { headers?: unknown } | undefined;
  const response = e.response as { headers?: unknown } | undefined;
  for (const h of [e.headers, response?.headers, $response?.headers]) {
    if (h instanceof Headers) return h;
    if (typeof h === 'object' && h !== null) {
      if (typeof (h as { get?: unknown }).get === 'function') return h as Headers;
      const out = new Headers();
      for (const [k, v] of Object.entries(h)) if (typeof v === 'string') out.set(k, v);
      return out;
    }
  }
  return undefined;
}
