import type { ErrorKind } from '../../types';
import { errorMessageOf, kindOfStatus, retryAfterMs } from '../http-errors';
import type { ClassifiedError } from '../provider.interfaces';
import { ownEntry } from '../wire-checks';
import type { AnthropicErrorBody } from './anthropic.wire';

/** The windows of Anthropic's `anthropic-ratelimit-<window>-{limit,remaining,reset}` headers. */
const WINDOWS = ['requests', 'tokens', 'input-tokens', 'output-tokens'] as const;

/** Anthropic's documented error types and the HTTP status each comes with. */
const ERROR_TYPES: Readonly<Record<string, { status: number; kind: ErrorKind }>> = {
  invalid_request_error: { status: 400, kind: 'bad_request' },
  authentication_error: { status: 401, kind: 'auth' },
  // A key whose organisation has no credit: no other request will pass on it until someone pays.
  billing_error: { status: 402, kind: 'auth' },
  permission_error: { status: 403, kind: 'auth' },
  not_found_error: { status: 404, kind: 'bad_request' },
  request_too_large: { status: 413, kind: 'bad_request' },
  rate_limit_error: { status: 429, kind: 'rate_limit' },
  api_error: { status: 500, kind: 'transient' },
  timeout_error: { status: 504, kind: 'transient' },
  overloaded_error: { status: 529, kind: 'transient' },
};

/** The 400 Anthropic sends when the key's organisation ran out of credit (a key problem, not the request's). */
const NO_CREDIT = /credit balance is too low/i;

/**
 * Maps an HTTP error answer: 429 → rate_limit; 529 overloaded and 5xx → transient; 401/403 (and a spent
 * credit balance, 402 or the 400 "credit balance is too low") → auth; other 4xx → the caller's fault.
 * A rate limit's wait is `retry-after`, else the reset time of the spent window(s).
 */
export function classifyAnthropicError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
  const message = errorMessageOf(body);
  const type = errorTypeOf(body);
  let kind = kindOfStatus(status);
  if (status === 402 || type === 'billing_error' || (status === 400 && NO_CREDIT.test(message))) kind = 'auth';
  else if (type === 'rate_limit_error') kind = 'rate_limit';
  else if (type === 'overloaded_error' && kind === 'bad_request') kind = 'transient';
  const retry = kind === 'rate_limit' ? (retryAfterMs(headers, now) ?? anthropicResetWaitMs(headers, now)) : undefined;
  return { kind, status, message, retryAfterMs: retry };
}

/**
 * The wait a 429 without `retry-after` implies: until the reset of the spent window(s) (`…-remaining: 0`);
 * when no window says it is spent (the request needed more than was left), until the latest reset, when
 * every bucket is full again. Undefined without `anthropic-ratelimit-*-reset` headers. Also usable on the
 * `headers` of an `@anthropic-ai/sdk` `RateLimitError`.
 */
export function anthropicResetWaitMs(headers: Headers, now: number): number | undefined {
  let at = spentUntil(headers, now);
  if (at === undefined) {
    for (const w of WINDOWS) {
      const r = resetOf(headers, w, now);
      if (r !== undefined && (at === undefined || r > at)) at = r;
    }
  }
  return at === undefined ? undefined : at - now;
}

/** A stream's `event: error` payload (`{type:'error', error:{type, message}}`) as an error class. */
export function classifyStreamError(error: { type?: string; message?: string } | undefined): ClassifiedError {
  const known = ownEntry(ERROR_TYPES, error?.type);
  return {
    kind: known?.kind ?? 'transient',
    status: known?.status ?? 500,
    message: error?.message ?? `stream error${error?.type ? ` (${error.type})` : ''}`,
  };
}

/**
 * On a successful answer: when a window says `remaining: 0`, the key is spent until that window's reset
 * (the latest of them when several are spent).
 */
export function spentUntil(headers: Headers, now: number): number | undefined {
  let until: number | undefined;
  for (const w of WINDOWS) {
    if (headers.get(`anthropic-ratelimit-${w}-remaining`) !== '0') continue;
    const at = resetOf(headers, w, now);
    if (at !== undefined && (until === undefined || at > until)) until = at;
  }
  return until;
}

/** `anthropic-ratelimit-<window>-reset` is an RFC 3339 time; undefined when absent, unreadable or past. */
function resetOf(headers: Headers, window: (typeof WINDOWS)[number], now: number): number | undefined {
  const v = headers.get(`anthropic-ratelimit-${window}-reset`);
  if (v === null) return undefined;
  const at = Date.parse(v);
  return Number.isFinite(at) && at > now ? at : undefined;
}

function errorTypeOf(body: string): string | undefined {
  if (!body.trimStart().startsWith('{')) return undefined;
  try {
    const t = (JSON.parse(body) as AnthropicErrorBody).error?.type;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}
