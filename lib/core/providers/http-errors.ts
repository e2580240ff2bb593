import type { ErrorKind } from '../types';

/** SPEC §4's default mapping of an HTTP status to an error class. */
export function kindOfStatus(status: number): ErrorKind {
  if (status === 429) return 'rate_limit';
  // 402: the key's account cannot pay; another key may.
  if (status === 401 || status === 402 || status === 403) return 'auth';
  if (status === 408 || status === 409 || status === 425 || status >= 500) return 'transient';
  return 'bad_request';
}

/**
 * `retry-after-ms` (OpenAI), then `retry-after` as seconds or an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const v = Number(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return secs >= 0 ? secs * 1000 : undefined;
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Parses OpenAI-style reset durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, or a bare number of seconds. */
export function parseDuration(v: string | null): number | undefined {
  if (v === null) return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    matched += m[0].length;
  }
  return matched === s.length ? total : undefined;
}

/**
 * Pulls a human message out of a JSON error body (`{error:{message}}`, `{message}`, `[{error:{message}}]`) or returns
 * the raw text. Not cut: the body is already bounded when read (64 KiB), and the engine scrubs secrets from the
 * message first and only then bounds it with {@link boundMessage} (cutting first would leave part of a key echoed
 * across the cut, which the scrubber can no longer recognise).
 */
export function errorMessageOf(body: string): string {
  try {
    let doc = JSON.parse(body) as unknown;
    if (Array.isArray(doc)) doc = doc[0];
    const o = (typeof doc === 'object' && doc !== null ? doc : {}) as { error?: { message?: unknown } | string; message?: unknown; Message?: unknown };
    if (typeof o.error === 'object' && o.error !== null && typeof o.error.message === 'string') return o.error.message;
    if (typeof o.error === 'string') return o.error;
    if (typeof o.message === 'string') return o.message;
    if (typeof o.Message === 'string') return o.Message;
  } catch {
    /* not JSON */
  }
  return body;
}

/** The longest upstream message kept in an error or an attempt, by default. */
export const MAX_MESSAGE_CHARS = 500;

/**
 * Bounds a message that was already scrubbed of secrets: at most `max` characters (a surrogate pair is not split),
 * with `…` marking the cut. Call it after scrubbing, never before.
 */
export function boundMessage(scrubbedText: string, max = MAX_MESSAGE_CHARS): string {
  if (scrubbedText.length <= max) return scrubbedText;
  let end = max;
  const last = scrubbedText.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${scrubbedText.slice(0, end)}…`;
}
