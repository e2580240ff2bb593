import { LlmRotateError, ProviderTransportError, SecretResolutionError } from '../errors';
import type { ProviderName } from '../types';

/**
 * Checks adapters apply to whatever an upstream sends, so that a body or event of the wrong shape (`null`, an array,
 * a number where an object belongs) becomes a {@link ProviderTransportError} `EMALFORMED` — a transient failure of
 * the attempt — and never a raw TypeError or SyntaxError.
 */

export type WireObject = Record<string, unknown>;

export function malformed(provider: ProviderName, what: string): ProviderTransportError {
  return new ProviderTransportError(provider, `${provider} sent a malformed answer: ${what}`, 'EMALFORMED');
}

/** A stream that ended (cleanly) before its wire format's terminator. */
export function endedEarly(provider: ProviderName, terminator: string): ProviderTransportError {
  return new ProviderTransportError(provider, `${provider} stream ended before ${terminator} (cut short)`, 'EMALFORMED');
}

/** One event's JSON payload, which must be an object. */
export function parseEvent(provider: ProviderName, data: string): WireObject {
  let doc: unknown;
  try {
    doc = JSON.parse(data);
  } catch {
    throw malformed(provider, 'a stream event is not JSON');
  }
  if (!isObject(doc)) throw malformed(provider, `a stream event is ${kindOf(doc)}, not a JSON object`);
  return doc;
}

export function isObject(v: unknown): v is WireObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` as an object; undefined when absent or null; anything else is malformed. */
export function objectAt(provider: ProviderName, v: unknown, path: string): WireObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw malformed(provider, `${path} is ${kindOf(v)}, not an object`);
  return v;
}

/** `v` as a list; undefined when absent or null; anything else is malformed. */
export function listAt(provider: ProviderName, v: unknown, path: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw malformed(provider, `${path} is ${kindOf(v)}, not a list`);
  return v;
}

/** `v` as text; undefined when absent or null; anything else is malformed. */
export function textAt(provider: ProviderName, v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw malformed(provider, `${path} is ${kindOf(v)}, not text`);
  return v;
}

/** A token count: a finite number ≥ 0, else 0 (usage is informative; a bad count never fails an answer). */
export function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** A usage with `cachedInputTokens` only when the provider reported some (so a cache-less usage stays two fields). */
export function usage(inputTokens: number, outputTokens: number, cachedInputTokens: number): { inputTokens: number; outputTokens: number; cachedInputTokens?: number } {
  return cachedInputTokens > 0 ? { inputTokens, outputTokens, cachedInputTokens: Math.min(cachedInputTokens, inputTokens) } : { inputTokens, outputTokens };
}

/** A token count when it is one, else undefined. */
export function countOrUndefined(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** A vendor's message text for an error: the string when it is one, else `fallback`. */
export function messageOr(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.length > 0 ? v : fallback;
}

/**
 * Wraps a decoder so that only library errors leave it: anything else (a bug in a path no check covered, a library
 * throwing on odd bytes) is reported as `EMALFORMED`.
 */
export async function* libraryErrorsOnly<T>(provider: ProviderName, source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  try {
    yield* source;
  } catch (e) {
    throw asLibraryError(provider, e);
  }
}

export function asLibraryError(provider: ProviderName, e: unknown): Error {
  if (e instanceof LlmRotateError) return e;
  return malformed(provider, `it could not be decoded (${e instanceof Error ? e.name : typeof e})`);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * `map[key]` when `key` is one of the map's own entries. Lookup tables are indexed by names an upstream sends; a
 * name such as `constructor` or `__proto__` must not find `Object.prototype`'s members.
 */
export function ownEntry<T>(map: Readonly<Record<string, T>>, key: string | undefined): T | undefined {
  return key !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

const NOT_IN_A_HEADER = /[\r\n\0]|[^\x00-\xff]/;

/**
 * A key's credential as an HTTP header value. A secret holding a line break, a NUL or a character beyond Latin-1
 * (a key file with two lines, a pasted key with a stray character) can never be sent: that is the key's problem, so
 * it is a {@link SecretResolutionError} (the key is benched like an unusable secret and another key answers),
 * not a failure of the request.
 */
export function headerSafe(keyId: string, value: string, what = 'the secret'): string {
  if (NOT_IN_A_HEADER.test(value)) {
    throw new SecretResolutionError(keyId, `${what} holds a line break, a NUL or a character beyond Latin-1, which an HTTP header cannot carry`);
  }
  return value;
}
