import { ProviderTimeoutError, ProviderTransportError } from '../errors';
import type { ProviderName } from '../types';

/** How a held body ended: read to its end, broken (the library's error), or cancelled (the client or its signal). */
export type BodyEnd = { readonly kind: 'end' } | { readonly kind: 'error'; readonly error: Error } | { readonly kind: 'cancelled' };

export interface HeldBodyHooks {
  /** Each chunk, before the client sees it (usage tracking). */
  chunk?(bytes: Uint8Array): void;
  /** Called once; the client's last read waits for it, so the attempt is settled before the client has its answer. */
  ended(end: BodyEnd): Promise<void>;
}

/** Lets go of bodies nobody reads to the end nor cancels (a dropped Response): they settle as cancelled when collected. */
const dropped = new FinalizationRegistry<HeldBody>((body) => body.drop());

/**
 * A successful answer's body, passed to the client chunk by chunk while the attempt keeps its lease: it ends (and
 * settles) when the client has read the last byte, cancels the stream, or aborts its own signal, or when the
 * upstream breaks. Only reads the client asks for are timed: a gap longer than `timeoutMs` while the client waits
 * is the upstream's failure (a timeout); a client that takes its time is nobody's.
 */
export class HeldBody {
  readonly stream: ReadableStream<Uint8Array>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private done = false;
  private readonly onAbort = (): void => this.abort();

  constructor(
    upstream: ReadableStream<Uint8Array>,
    private readonly provider: ProviderName,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly hooks: HeldBodyHooks,
  ) {
    this.reader = upstream.getReader();
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: (c) => this.pull(c),
        cancel: () => this.cancel(),
      },
      { highWaterMark: 0 },
    );
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The answer the client gets: the upstream's status, headers and URL, with this body. */
  wrap(res: Response): Response {
    const out = new Response(this.stream, { status: res.status, statusText: res.statusText, headers: res.headers });
    Object.defineProperty(out, 'url', { value: res.url });
    if (res.redirected) Object.defineProperty(out, 'redirected', { value: true });
    dropped.register(out, this, this);
    return out;
  }

  private async pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.done) return;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.reader.cancel().catch(() => undefined);
    }, this.timeoutMs);
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await this.reader.read();
    } catch (e) {
      clearTimeout(this.timer);
      await this.broke(c, e);
      return;
    }
    clearTimeout(this.timer);
    if (this.done) return; // aborted or dropped meanwhile
    if (this.timedOut) {
      await this.broke(c, undefined);
      return;
    }
    if (r.done) {
      await this.end({ kind: 'end' });
      c.close();
      return;
    }
    this.hooks.chunk?.(r.value);
    c.enqueue(r.value);
  }

  private async broke(c: ReadableStreamDefaultController<Uint8Array>, e: unknown): Promise<void> {
    if (this.done) return;
    if (this.signal?.aborted) {
      this.abort();
      return;
    }
    const error = this.timedOut
      ? new ProviderTimeoutError(this.provider, this.timeoutMs)
      : e instanceof ProviderTransportError
        ? e
        : new ProviderTransportError(this.provider, `${this.provider} answer broke while it was read: ${transportWhat(e)}`, codeOf(e));
    await this.end({ kind: 'error', error });
    c.error(error);
  }

  /** The client's signal: the upstream read is cancelled, the attempt settles as cancelled, the client's reads reject. */
  private abort(): void {
    if (this.done) return;
    this.reader.cancel().catch(() => undefined);
    const reason = abortReason(this.signal);
    void this.end({ kind: 'cancelled' });
    try {
      this.controller.error(reason);
    } catch {
      /* already closed */
    }
  }

  private async cancel(): Promise<void> {
    if (this.done) return;
    this.reader.cancel().catch(() => undefined);
    await this.end({ kind: 'cancelled' });
  }

  /**
   * @internal The Response was collected before its body was read or cancelled: free the upstream connection and the
   * lease. A body being read (locked to a reader, e.g. by `response.text()`) is left alone, as undici does.
   */
  drop(): void {
    if (this.done || this.stream.locked) return;
    this.reader.cancel().catch(() => undefined);
    void this.end({ kind: 'cancelled' });
  }

  private async end(end: BodyEnd): Promise<void> {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    dropped.unregister(this);
    try {
      await this.hooks.ended(end);
    } catch {
      /* settling never breaks the client's body */
    }
  }
}

/** What a fetch rejects with when its signal aborts: the signal's reason, as Node's fetch does. */
export function abortReason(signal: AbortSignal | undefined): unknown {
  const r: unknown = signal?.reason;
  return r !== undefined ? r : new DOMException('This operation was aborted', 'AbortError');
}

/** A buffered error answer, to hand back (scrubbed) when it is the caller's fault or the last one before exhaustion. */
export interface BufferedAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly text: string;
  readonly url: string;
}

/** A buffered answer as a Response; `retryAfterMs` replaces its `retry-after` / `retry-after-ms` when given. */
export function answerResponse(a: BufferedAnswer, retryAfterMs?: number): Response {
  const headers = new Headers(a.headers);
  // The body is handed back decoded: the upstream's transfer framing no longer applies.
  headers.delete('content-encoding');
  headers.delete('content-length');
  headers.delete('transfer-encoding');
  if (retryAfterMs !== undefined) setRetryAfter(headers, retryAfterMs);
  const out = new Response(a.text, { status: a.status, statusText: a.statusText, headers });
  if (a.url !== '') Object.defineProperty(out, 'url', { value: a.url });
  return out;
}

/** `Retry-After` in whole seconds (what every client reads) and `retry-after-ms` (what the OpenAI and Anthropic clients read first). */
export function setRetryAfter(headers: Headers, ms: number): void {
  const wait = Math.max(0, Math.ceil(ms));
  headers.set('retry-after', String(Math.max(1, Math.ceil(wait / 1000))));
  headers.set('retry-after-ms', String(wait));
}

function transportWhat(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  return e instanceof Error ? e.message : 'connection lost';
}

function codeOf(e: unknown): string | undefined {
  const c = (e as { cause?: { code?: unknown }; code?: unknown } | undefined)?.cause?.code ?? (e as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}
