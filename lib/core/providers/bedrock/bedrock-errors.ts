import type { ErrorKind } from '../../types';
import { errorMessageOf, kindOfStatus, retryAfterMs } from '../http-errors';
import type { ClassifiedError } from '../provider.interfaces';
import { ownEntry } from '../wire-checks';

/**
 * Bedrock Runtime's error types (the `x-amzn-errortype` header, or a stream's `:exception-type`) → error class,
 * with the HTTP status each one has. The name decides, not the status, because Bedrock reuses statuses:
 *
 * - `ModelNotReadyException` is a 429 but **transient**, not a rate limit: the model (e.g. an imported model
 *   scaled to zero) is still loading. That says nothing about the key's quota, so benching the key with a
 *   cooldown would wrongly take it out of rotation for every other model it serves; counting a failure and
 *   rotating lets another key (another account or region) answer, and repeated failures still quarantine it.
 * - `ServiceQuotaExceededException` is a 400 but a **rate limit**: a quota of the key's account is spent, so the
 *   key is cooled and another key (another account) may answer.
 * - `ResourceNotFoundException` (unknown model id) and `ValidationException` are the caller's fault: another key
 *   would fail the same way, so they are not rotated.
 */
const AWS_ERRORS: Readonly<Record<string, { kind: ErrorKind; status: number }>> = {
  ThrottlingException: { kind: 'rate_limit', status: 429 },
  ServiceQuotaExceededException: { kind: 'rate_limit', status: 400 },
  TooManyRequestsException: { kind: 'rate_limit', status: 429 },
  AccessDeniedException: { kind: 'auth', status: 403 },
  UnrecognizedClientException: { kind: 'auth', status: 403 },
  InvalidSignatureException: { kind: 'auth', status: 403 },
  IncompleteSignatureException: { kind: 'auth', status: 403 },
  ExpiredTokenException: { kind: 'auth', status: 403 },
  MissingAuthenticationTokenException: { kind: 'auth', status: 403 },
  ValidationException: { kind: 'bad_request', status: 400 },
  ResourceNotFoundException: { kind: 'bad_request', status: 404 },
  ModelErrorException: { kind: 'transient', status: 424 },
  ModelStreamErrorException: { kind: 'transient', status: 424 },
  ModelTimeoutException: { kind: 'transient', status: 408 },
  ModelNotReadyException: { kind: 'transient', status: 429 },
  InternalServerException: { kind: 'transient', status: 500 },
  ServiceUnavailableException: { kind: 'transient', status: 503 },
};

/** `x-amzn-errortype: ThrottlingException:http://internal.amazon.com/...`, else the body's `__type` / `code`. */
function errorTypeOf(headers: Headers, body: string): string | undefined {
  const h = headers.get('x-amzn-errortype');
  if (h !== null && h.trim() !== '') return cleanType(h);
  try {
    const o = JSON.parse(body) as { __type?: unknown; code?: unknown };
    const t = typeof o.__type === 'string' ? o.__type : typeof o.code === 'string' ? o.code : undefined;
    return t === undefined ? undefined : cleanType(t);
  } catch {
    return undefined;
  }
}

/** Strips the `:uri` suffix and the `namespace#` prefix AWS may put around a type name. */
function cleanType(t: string): string {
  let s = t.trim();
  const colon = s.indexOf(':');
  if (colon >= 0) s = s.slice(0, colon);
  const hash = s.lastIndexOf('#');
  if (hash >= 0) s = s.slice(hash + 1);
  return s;
}

/** An HTTP error answer of Converse / ConverseStream. */
export function classifyBedrockError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
  const type = errorTypeOf(headers, body);
  const known = ownEntry(AWS_ERRORS, type);
  const kind = known?.kind ?? kindOfStatus(status);
  const text = errorMessageOf(body);
  const message = type !== undefined && !text.startsWith(type) ? `${type}: ${text}` : text;
  const retry = retryAfterMs(headers, now);
  return retry === undefined ? { kind, status, message } : { kind, status, message, retryAfterMs: retry };
}

/**
 * An exception frame inside a ConverseStream answer (`:message-type: exception`, `:exception-type` in
 * camelCase, e.g. `throttlingException`), or an unmodeled `:message-type: error` frame (`:error-code`).
 */
export function classifyStreamException(exceptionType: string, body: string): ClassifiedError {
  const type = exceptionType.charAt(0).toUpperCase() + exceptionType.slice(1);
  const known = ownEntry(AWS_ERRORS, type);
  const text = body === '' ? 'stream error' : errorMessageOf(body);
  return { kind: known?.kind ?? 'transient', status: known?.status ?? 500, message: `${type}: ${text}` };
}
