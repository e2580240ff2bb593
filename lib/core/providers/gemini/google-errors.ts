import type { ErrorKind } from '../../types';
import { kindOfStatus, parseDuration, retryAfterMs } from '../http-errors';
import type { ClassifiedError } from '../provider.interfaces';
import { ownEntry } from '../wire-checks';
import type { GoogleRpcError } from './gemini.wire';

/** `google.rpc.Code` names as Google's JSON APIs put them in `error.status`. */
const RPC_KINDS: Readonly<Record<string, ErrorKind>> = {
  RESOURCE_EXHAUSTED: 'rate_limit',
  UNAUTHENTICATED: 'auth',
  PERMISSION_DENIED: 'auth',
  INTERNAL: 'transient',
  UNAVAILABLE: 'transient',
  DEADLINE_EXCEEDED: 'transient',
  ABORTED: 'transient',
  CANCELLED: 'transient',
  UNKNOWN: 'transient',
  INVALID_ARGUMENT: 'bad_request',
  FAILED_PRECONDITION: 'bad_request',
  NOT_FOUND: 'bad_request',
  OUT_OF_RANGE: 'bad_request',
  UNIMPLEMENTED: 'bad_request',
};

/** `ErrorInfo.reason`s that overrule the status: a bad or expired API key comes back as 400 INVALID_ARGUMENT. */
const REASON_KINDS: Readonly<Record<string, ErrorKind>> = {
  API_KEY_INVALID: 'auth',
  API_KEY_EXPIRED: 'auth',
  API_KEY_SERVICE_BLOCKED: 'auth',
  CONSUMER_SUSPENDED: 'auth',
  SERVICE_DISABLED: 'auth',
  RATE_LIMIT_EXCEEDED: 'rate_limit',
  RESOURCE_EXHAUSTED: 'rate_limit',
};

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * Classifies a Gemini / Vertex AI error answer: `{ "error": { code, message, status, details } }` (or that inside
 * a one-element array). The RPC status and `ErrorInfo.reason` decide before the HTTP status; a rate limit's wait
 * comes from `RetryInfo.retryDelay`, else `retry-after`.
 */
export function classifyGoogleError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
  return classifyRpcError(status, rpcErrorOf(body), headers, now, body);
}

export function classifyRpcError(status: number, err: GoogleRpcError | undefined, headers: Headers | undefined, now = 0, raw = ''): ClassifiedError {
  let kind = ownEntry(RPC_KINDS, err?.status) ?? kindOfStatus(status);
  let retry: number | undefined;
  for (const d of err?.details ?? []) {
    if (d === null || typeof d !== 'object') continue;
    const byReason = d['@type'] === ERROR_INFO && typeof d.reason === 'string' ? ownEntry(REASON_KINDS, d.reason) : undefined;
    if (byReason !== undefined) kind = byReason;
    else if (d['@type'] === RETRY_INFO && typeof d.retryDelay === 'string') retry = parseDuration(d.retryDelay);
  }
  // Older or proxied answers carry no ErrorInfo, only the message.
  if (kind === 'bad_request' && /API key (not valid|expired)/i.test(err?.message ?? '')) kind = 'auth';
  if (kind !== 'rate_limit') retry = undefined;
  else if (retry === undefined && headers !== undefined) retry = retryAfterMs(headers, now);
  // Not cut here: the engine scrubs secrets first, then bounds the message (boundMessage).
  const message = err?.message ?? raw;
  return { kind, status, message: err?.status ? `${err.status}: ${message}` : message, retryAfterMs: retry === undefined ? undefined : Math.ceil(retry) };
}

/** The `google.rpc.Status` of an error body, when there is one. */
export function rpcErrorOf(body: string): GoogleRpcError | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (Array.isArray(doc)) doc = doc[0];
  const e = (doc as { error?: unknown } | null)?.error;
  if (typeof e !== 'object' || e === null) return undefined;
  return rpcErrorFrom(e);
}

/** The fields of a `google.rpc.Status` object that have the right types (an upstream may send anything). */
export function rpcErrorFrom(e: object): GoogleRpcError {
  const r = e as GoogleRpcError;
  return {
    code: typeof r.code === 'number' ? r.code : undefined,
    message: typeof r.message === 'string' ? r.message : undefined,
    status: typeof r.status === 'string' ? r.status : undefined,
    details: Array.isArray(r.details) ? r.details : undefined,
  };
}

/**
 * Classifies an error thrown by Google's own SDK (`@google/genai`'s `ApiError`: `status` plus the error body as
 * JSON in `message`) with the same rules as a raw answer, so `API_KEY_INVALID` is an auth failure and `RetryInfo`
 * sets the cooldown. Undefined when the error carries no Google error body.
 */
export function classifyGoogleSdkError(error: unknown, now: number): ClassifiedError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { status?: unknown; message?: unknown; headers?: unknown };
  if (typeof e.message !== 'string' || !e.message.includes('"error"')) return undefined;
  const start = e.message.indexOf('{');
  const rpc = start < 0 ? undefined : rpcErrorOf(e.message.slice(start));
  if (rpc === undefined || (rpc.status === undefined && rpc.code === undefined)) return undefined;
  const status = typeof e.status === 'number' ? e.status : (rpc.code ?? 500);
  return classifyRpcError(status, rpc, e.headers instanceof Headers ? e.headers : undefined, now);
}
