import { CallCancelledError, ProviderTimeoutError, ProviderTransportError, RequestBuildError } from '../errors';
import type { ProviderName } from '../types';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY_BYTES, type TransportLimits } from './limits';

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

type Expired = 'head_or_gap' | 'first_token';

/**
 * One upstream exchange with its deadlines, its size caps and the caller's AbortSignal.
 *
 * - `timeoutMs` covers the wait for the response head; for streams, each wait for the next body chunk (armed only
 *   while a read is pending, so a slow consumer never times the upstream out); a non-streamed body must arrive whole
 *   within the same deadline as its head.
 * - `firstTokenTimeoutMs` (streams): from the request until {@link firstToken} is called. Keep-alive comments and
 *   pings re-arm the gap deadline but not this one, so an upstream that only keeps the connection warm is cut off.
 * - A caller's abort surfaces as {@link CallCancelledError}; a deadline as {@link ProviderTimeoutError}.
 */
export class Exchange {
  readonly timeoutMs: number;
  readonly firstTokenTimeoutMs: number;
  readonly maxEventBytes: number;
  readonly maxResponseBytes: number;
  private readonly ctrl = new AbortController();
  private readonly startedAt = performance.now();
  private gapTimer: NodeJS.Timeout | undefined;
  private firstTokenTimer: NodeJS.Timeout | undefined;
  /** undefined: not armed yet; false: armed, waiting; true: the first token arrived (or none is awaited). */
  private gotFirstToken: boolean | undefined;
  private expired: Expired | undefined;
  private readonly onCallerAbort = (): void => this.ctrl.abort();

  constructor(
    readonly provider: ProviderName,
    limits: number | TransportLimits,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    const l: TransportLimits = typeof limits === 'number' ? { timeoutMs: limits } : limits;
    this.timeoutMs = l.timeoutMs;
    this.firstTokenTimeoutMs = l.firstTokenTimeoutMs ?? l.timeoutMs;
    this.maxEventBytes = l.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.maxResponseBytes = l.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (callerSignal?.aborted) this.ctrl.abort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.ctrl.signal;
  }

  /** (Re-)arms the head / gap deadline. */
  touch(): void {
    if (this.gapTimer !== undefined) clearTimeout(this.gapTimer);
    this.gapTimer = setTimeout(() => this.expire('head_or_gap'), this.timeoutMs);
  }

  /** Stops the head / gap deadline (while a stream's consumer holds a chunk, the upstream is not waited for). */
  pause(): void {
    if (this.gapTimer !== undefined) clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }

  /**
   * Starts waiting for the first token (once; called when a stream's body is first read). The budget counts from
   * the start of the exchange; when it is already spent, the exchange expires at once.
   */
  awaitFirstToken(): void {
    if (this.gotFirstToken !== undefined) return;
    this.gotFirstToken = false;
    const left = Math.max(0, this.firstTokenTimeoutMs - (performance.now() - this.startedAt));
    this.firstTokenTimer = setTimeout(() => this.expire('first_token'), left);
  }

  /** The first token (text, reasoning, a finish or an upstream error) arrived: the first-token deadline is over. */
  firstToken(): void {
    if (this.gotFirstToken === true) return;
    this.gotFirstToken = true;
    if (this.firstTokenTimer !== undefined) clearTimeout(this.firstTokenTimer);
    this.firstTokenTimer = undefined;
  }

  /**
   * Sends the request. Its URL and headers are checked first: a request that cannot even be built (an invalid URL,
   * a header name that is not a token, CR/LF/NUL in a value) is a {@link RequestBuildError}, never a failure of the
   * key, and nothing is sent.
   */
  async send(req: HttpRequest): Promise<Response> {
    if (this.callerSignal?.aborted) throw new CallCancelledError();
    const url = buildUrl(this.provider, req.url);
    const headers = buildHeaders(this.provider, req.headers);
    try {
      return await fetch(url, { method: 'POST', headers, body: req.body, signal: this.ctrl.signal });
    } catch (e) {
      throw this.translate(e);
    }
  }

  /** Maps a fetch/read failure to the library's error classes. */
  translate(e: unknown): Error {
    if (this.callerSignal?.aborted) return new CallCancelledError();
    if (this.expired === 'first_token') {
      const err = new ProviderTimeoutError(this.provider, this.firstTokenTimeoutMs);
      err.message = `${this.provider} sent no token within ${this.firstTokenTimeoutMs} ms (firstTokenTimeoutMs)`;
      return err;
    }
    if (this.expired === 'head_or_gap') return new ProviderTimeoutError(this.provider, this.timeoutMs);
    if (e instanceof ProviderTransportError || e instanceof CallCancelledError || e instanceof ProviderTimeoutError) return e;
    const cause = (e as { cause?: { code?: string; message?: string } } | null)?.cause;
    const code = cause?.code ?? (e as { code?: string } | null)?.code;
    const what = code ?? (cause?.message || (e as Error | null)?.message || 'connection failed');
    return new ProviderTransportError(this.provider, `${this.provider} request failed: ${what}`, code);
  }

  /** Throws the library error for an exchange a deadline or the caller ended (a chunk may already have been buffered). */
  throwIfEnded(): void {
    if (this.ctrl.signal.aborted) throw this.translate(new Error('aborted'));
  }

  /** Stops the deadlines and forgets the caller's signal; aborts the upstream request if still open. */
  finish(abortUpstream: boolean): void {
    this.pause();
    if (this.firstTokenTimer !== undefined) clearTimeout(this.firstTokenTimer);
    this.firstTokenTimer = undefined;
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
    if (abortUpstream && !this.ctrl.signal.aborted) this.ctrl.abort();
  }

  private expire(which: Expired): void {
    this.expired ??= which;
    this.ctrl.abort();
  }
}

function buildUrl(provider: ProviderName, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The URL may carry credentials or a secret-bearing query: it is not repeated.
    throw new RequestBuildError(provider, `${provider}: the request URL is not a valid URL (check baseUrl and the model id)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RequestBuildError(provider, `${provider}: the request URL must be http or https, not ${url.protocol.slice(0, 20)}`);
  }
  return url;
}

function buildHeaders(provider: ProviderName, raw: Record<string, string>): Headers {
  try {
    return new Headers(raw);
  } catch {
    // Name the offending header, never its value (it may be a credential).
    for (const [name, value] of Object.entries(raw)) {
      try {
        new Headers([[name, value]]);
      } catch {
        const problem = isToken(name) ? 'its value holds a character a header cannot carry (CR, LF, NUL or beyond Latin-1)' : 'its name is not a valid HTTP token';
        throw new RequestBuildError(provider, `${provider}: header "${printable(name)}" cannot be sent: ${problem}`);
      }
    }
    throw new RequestBuildError(provider, `${provider}: the request headers cannot be sent`);
  }
}

function isToken(name: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
}

function printable(name: string): string {
  return JSON.stringify(name.slice(0, 60)).slice(1, -1);
}

/**
 * Reads a non-streamed body as text under the exchange's deadline (not re-armed: the body must arrive whole within
 * it). A successful answer larger than `maxResponseBytes` is a {@link ProviderTransportError} `ETOOLARGE` (a
 * transient failure of the attempt); an error answer is cut at {@link MAX_ERROR_BODY_BYTES} (or `maxResponseBytes`
 * when smaller) and the rest is dropped unread.
 */
export async function readText(ex: Exchange, res: Response): Promise<string> {
  const limit = res.ok ? ex.maxResponseBytes : Math.min(MAX_ERROR_BODY_BYTES, ex.maxResponseBytes);
  const tooLarge = (): ProviderTransportError =>
    new ProviderTransportError(ex.provider, `${ex.provider} answered with a body over ${limit} bytes (maxResponseBytes)`, 'ETOOLARGE');
  const declared = Number(res.headers.get('content-length'));
  if (res.ok && Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw ex.translate(e);
      }
      ex.throwIfEnded();
      if (r.done) break;
      if (size + r.value.length > limit) {
        if (res.ok) throw tooLarge();
        parts.push(r.value.subarray(0, limit - size));
        size = limit;
        break;
      }
      parts.push(r.value);
      size += r.value.length;
    }
  } finally {
    // Whatever was not read is not wanted: stop the download.
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return new TextDecoder().decode(concat(parts, size));
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A streaming body's chunks as they arrive. The gap deadline is armed while each read is pending; the first read
 * starts the first-token deadline. A failed read surfaces as the library's error class (cancelled, timed out,
 * connection lost). Stream decoders (SSE, AWS event-stream) read through this.
 */
export async function* bodyChunks(ex: Exchange, body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  ex.awaitFirstToken();
  const reader = body.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      ex.touch();
      try {
        r = await reader.read();
      } catch (e) {
        throw ex.translate(e);
      } finally {
        ex.pause();
      }
      ex.throwIfEnded();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Refuses a stream answer whose content type says it is not a stream: a proxy's HTML page, or a JSON document (a
 * server that ignored `stream: true`, or a JSON error with status 200). A transient failure of the attempt
 * (`EMALFORMED`); the body is not read. A missing or other content type is decoded (and judged by its terminator).
 */
export async function expectStream(ex: Exchange, res: Response): Promise<ReadableStream<Uint8Array>> {
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'text/html' || type === 'application/json' || type.endsWith('+json')) {
    await res.body?.cancel().catch(() => undefined);
    throw new ProviderTransportError(ex.provider, `${ex.provider} answered a stream request with ${type} instead of a stream`, 'EMALFORMED');
  }
  if (res.body === null) throw new ProviderTransportError(ex.provider, `${ex.provider} answered a stream request without a body`, 'EMALFORMED');
  return res.body;
}
