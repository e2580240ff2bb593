/**
 * The bounds of one upstream exchange. `ProviderSettings` satisfies this interface, so an exchange is built from a
 * provider's resolved settings directly.
 */
export interface TransportLimits {
  /** The wait for the response head, then for each gap between body chunks (a non-streamed body: the whole of it). */
  readonly timeoutMs: number;
  /** Streams: from the request until the first token; keep-alives do not count. Default {@link timeoutMs}. */
  readonly firstTokenTimeoutMs?: number;
  /** Streams: the largest single event (an SSE event or line, an AWS event-stream frame). */
  readonly maxEventBytes?: number;
  /** The largest non-streamed answer body read. */
  readonly maxResponseBytes?: number;
}

/** 8 MiB: far above any real event (a text delta is a few bytes; a final Gemini chunk a few KiB). */
export const DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024;
/** 32 MiB: far above any real JSON answer (a 100k-token answer is well under 1 MiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/**
 * An error body (a non-2xx answer) is read up to this many bytes (or `maxResponseBytes` when smaller); the rest is
 * dropped. Enough for every vendor's JSON error; the message kept from it is bounded again after scrubbing.
 */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
