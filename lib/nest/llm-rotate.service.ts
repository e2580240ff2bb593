import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { AcquireContext } from '../core/acquire-context';
import type { LlmRotateOptions } from '../core/config/options.interfaces';
import type { FetchForOptions, RotatingFetch } from '../core/fetch/fetch-for.interfaces';
import type { LlmRotate } from '../core/llm-rotate';
import type { PoolSnapshot } from '../core/snapshot.interfaces';
import type { StoreHealth } from '../core/store/store.interfaces';
import type { UsageSummary } from '../core/observability/usage-summary';
import type { EngineObserver } from '../core/observability/observer.interfaces';
import type { AcquireOptions, ChatChunk, ChatMessage, ChatOptions, ChatResult, ProviderName, UsageEvent } from '../core/types';
import { LLM_ROTATE_ENGINE, LLM_ROTATE_LOGGER_CONTEXT } from './llm-rotate.constants';
import { LlmRotateError } from '../core/errors';
import { llmRotateErrorToHttp, llmRotateErrorToSse, type LlmRotateSseErrorEvent } from './llm-rotate.http-errors';

/** An SSE message as Nest's `@Sse()` expects it: a chunk, or the `error` event that ends a failed stream. */
export type ChatSseEvent = { data: ChatChunk } | LlmRotateSseErrorEvent;

/**
 * The Nest face of one {@link LlmRotate} engine. Each module instance (and each testing module) has its own.
 * It is closed in `onApplicationShutdown`, which Nest runs after the HTTP server has stopped and its requests
 * have ended: calls in flight, and calls still arriving, are served (up to the `shutdownTimeoutMs` option) before
 * leases and connections are released.
 */
@Injectable()
export class LlmRotateService implements OnApplicationShutdown {
  private readonly usageSubject = new Subject<UsageEvent>();
  private readonly unsubscribe: () => void;
  /** Usage events, one per attempt (chat, stream, acquire reports and fetchFor requests). */
  readonly usage$: Observable<UsageEvent> = this.usageSubject.asObservable();

  constructor(@Inject(LLM_ROTATE_ENGINE) readonly engine: LlmRotate) {
    this.unsubscribe = engine.onUsage((e) => this.usageSubject.next(e));
  }

  chat(model: string, messages: readonly ChatMessage[], opts?: ChatOptions): Promise<ChatResult> {
    return this.engine.chat(model, messages, opts);
  }

  stream(model: string, messages: readonly ChatMessage[], opts?: ChatOptions): AsyncIterable<ChatChunk> {
    return this.engine.stream(model, messages, opts);
  }

  /**
   * The stream as an rxjs Observable. Unsubscribing (Nest does when an SSE client disconnects) cancels the
   * upstream request and releases the key.
   */
  stream$(model: string, messages: readonly ChatMessage[], opts: ChatOptions = {}): Observable<ChatChunk> {
    return new Observable<ChatChunk>((subscriber) => {
      const ctrl = new AbortController();
      const outer = opts.signal;
      const onOuter = (): void => ctrl.abort(outer?.reason);
      if (outer?.aborted) ctrl.abort(outer.reason);
      else outer?.addEventListener('abort', onOuter, { once: true });
      const it = this.engine.stream(model, messages, { ...opts, signal: ctrl.signal });
      (async () => {
        try {
          for await (const chunk of it) {
            if (subscriber.closed) break;
            subscriber.next(chunk);
          }
          subscriber.complete();
        } catch (e) {
          subscriber.error(e);
        }
      })();
      return () => {
        outer?.removeEventListener('abort', onOuter);
        ctrl.abort();
      };
    });
  }

  /**
   * The stream as `{ data: chunk }` messages, ready to return from an `@Sse()` handler. It never errors: a failure
   * (before or after the first chunk; Nest sends the `200` and the headers at once) becomes one
   * `event: error` with `data: {"type","message","retryAfterMs"?}` (see `llmRotateErrorToSse`), then the stream
   * completes. A caller that went away gets nothing.
   */
  sse$(model: string, messages: readonly ChatMessage[], opts?: ChatOptions): Observable<ChatSseEvent> {
    return new Observable<ChatSseEvent>((subscriber) => {
      const sub = this.stream$(model, messages, opts).subscribe({
        next: (data) => subscriber.next({ data }),
        error: (e: unknown) => {
          const event = llmRotateErrorToSse(e);
          if (event !== undefined) {
            logStreamError(e);
            subscriber.next(event);
          }
          subscriber.complete();
        },
        complete: () => subscriber.complete(),
      });
      return () => sub.unsubscribe();
    });
  }

  acquire(provider: ProviderName, opts?: AcquireOptions): Promise<AcquireContext> {
    return this.engine.acquire(provider, opts);
  }

  withKey<T>(provider: ProviderName, opts: AcquireOptions, fn: (ctx: AcquireContext) => Promise<T> | T): Promise<T> {
    return this.engine.withKey(provider, opts, fn);
  }

  /**
   * A `fetch` that rotates keys, for the official clients and the AI SDKs:
   * `new OpenAI({ apiKey: 'managed', fetch: llm.fetchFor('openai') })`. See {@link LlmRotate.fetchFor}.
   */
  fetchFor(provider: ProviderName, opts?: FetchForOptions): RotatingFetch {
    return this.engine.fetchFor(provider, opts);
  }

  /** Swaps the pool's configuration (validated first; a bad one is refused and the old one keeps serving). */
  reload(options: LlmRotateOptions | string): Promise<void> {
    return this.engine.reload(options);
  }

  snapshot(): Promise<PoolSnapshot> {
    return this.engine.snapshot();
  }

  storeHealth(): StoreHealth {
    return this.engine.storeHealth();
  }

  /** Per key, provider and model since start: attempts, failures by kind, tokens, estimated cost. */
  usageSummary(): UsageSummary {
    return this.engine.usageSummary();
  }

  /** Starts the usage counters afresh. */
  resetUsage(): void {
    this.engine.resetUsage();
  }

  /** Takes a key out of rotation (for every worker with the Redis store) until `enableKey`; a reload keeps it out. */
  disableKey(keyId: string): Promise<boolean> {
    return this.engine.disableKey(keyId);
  }

  /** Undoes `disableKey` (a key disabled in the configuration stays disabled). */
  enableKey(keyId: string): Promise<boolean> {
    return this.engine.enableKey(keyId);
  }

  /** Clears a key's cooldown or quarantine and its failure count: it is ACTIVE now. */
  resetKey(keyId: string): Promise<boolean> {
    return this.engine.resetKey(keyId);
  }

  /** Registers call/attempt hooks (tracing, metrics); returns the function that removes them. */
  addObserver(observer: EngineObserver): () => void {
    return this.engine.addObserver(observer);
  }

  /** Calls in flight now (chat, stream, lent keys not yet settled). */
  get callsInFlight(): number {
    return this.engine.callsInFlight;
  }

  /**
   * Drains (calls in flight and calls still arriving are served, for up to `drainTimeoutMs`, default the
   * `shutdownTimeoutMs` option), then releases leases and connections. Safe to call twice.
   */
  async close(opts: { drainTimeoutMs?: number } = {}): Promise<void> {
    await this.engine.close(opts);
    this.unsubscribe();
    this.usageSubject.complete();
  }

  /**
   * Not `onModuleDestroy`: Nest runs that before it stops the HTTP server, so a request reaching `chat()` after
   * SIGTERM would meet a closed engine. `onApplicationShutdown` runs once the server has stopped.
   */
  async onApplicationShutdown(): Promise<void> {
    // The drain is bounded by the pool's `shutdownTimeoutMs` option (default 10 s), the engine's own default.
    await this.close();
  }
}

const sseLogger = new Logger(LLM_ROTATE_LOGGER_CONTEXT);

/** As the exception filter would: our own faults at error level, the upstream's at warn, the rest not at all. */
function logStreamError(e: unknown): void {
  if (!(e instanceof LlmRotateError)) {
    sseLogger.error(`A stream failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return;
  }
  const level = llmRotateErrorToHttp(e)?.logLevel;
  if (level === 'error') sseLogger.error(`A stream failed: ${e.name}: ${e.message}`);
  else if (level === 'warn') sseLogger.warn(`A stream failed: ${e.name}: ${e.message}`);
}
