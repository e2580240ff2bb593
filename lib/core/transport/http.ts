import { CallCancelledError, ProviderTimeoutError, ProviderTransportError } from '../errors';
import type { ProviderName } from '../types';

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * One upstream exchange with a deadline and the caller's AbortSignal. The deadline covers the wait for
 * the response head and, for streams, each gap between body chunks (`touch()` re-arms it).
 * A caller's abort surfaces as {@link CallCancelledError}; the deadline as {@link ProviderTimeoutError}.
 */
export class Exchange {
  private readonly ctrl = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private readonly onCallerAbort = (): void => this.ctrl.abort();

  constructor(
    readonly provider: ProviderName,
    private readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.ctrl.signal;
  }

  /** Re-arms the deadline (called on each stream chunk). */
  touch(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.ctrl.abort();
    }, this.timeoutMs);
  }

  async send(req: HttpRequest): Promise<Response> {
    if (this.callerSignal?.aborted) throw new CallCancelledError();
    try {
      return await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: this.ctrl.signal });
    } catch (e) {
      throw this.translate(e);
    }
  }

  /** Maps a fetch/read failure to the library's error classes. */
  translate(e: unknown): Error {
    if (this.callerSignal?.aborted) return new CallCancelledError();
    if (this.timedOut) return new ProviderTimeoutError(this.provider, this.timeoutMs);
    if (e instanceof ProviderTransportError || e instanceof CallCancelledError || e instanceof ProviderTimeoutError) return e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (e as { code?: string }).code;
    const what = code ?? (cause?.message || (e as Error).message || 'connection failed');
    return new ProviderTransportError(this.provider, `${this.provider} request failed: ${what}`, code);
  }

  /** Stops the deadline and forgets the caller's signal; aborts the upstream request if still open. */
  finish(abortUpstream: boolean): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
    if (abortUpstream && !this.ctrl.signal.aborted) this.ctrl.abort();
  }
}

/** Reads a body as text under the exchange's deadline. */
export async function readText(ex: Exchange, res: Response): Promise<string> {
  try {
    return await res.text();
  } catch (e) {
    throw ex.translate(e);
  }
}

/**
 * A streaming body's chunks as they arrive. Each chunk re-arms the exchange deadline; a failed read surfaces as
 * the library's error class (cancelled, timed out, connection lost). Stream decoders (SSE, AWS event-stream) read
 * through this.
 */
export async function* bodyChunks(ex: Exchange, body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = body.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw ex.translate(e);
      }
      if (r.done) return;
      ex.touch();
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}
