import { Inject, Injectable, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { AcquireContext } from '../core/acquire-context';
import type { LlmRotateOptions } from '../core/config/options.interfaces';
import type { FetchForOptions, RotatingFetch } from '../core/fetch/fetch-for.interfaces';
import type { LlmRotate } from '../core/llm-rotate';
import type { PoolSnapshot } from '../core/snapshot.interfaces';
import type { StoreHealth } from '../core/store/store.interfaces';
import type { AcquireOptions, ChatChunk, ChatMessage, ChatOptions, ChatResult, ProviderName, UsageEvent } from '../core/types';
import { LLM_ROTATE_ENGINE } from './llm-rotate.constants';

/** An SSE message as Nest's `@Sse()` expects it. */
export interface ChatSseEvent {
  data: ChatChunk;
}

/**
 * The Nest face of one {@link LlmRotate} engine. Each module instance (and each testing module) has its own;
 * the module closes it on shutdown.
 */
@Injectable()
export class LlmRotateService implements OnModuleDestroy, OnApplicationShutdown {
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

  /** The stream as `{ data: chunk }` messages, ready to return from an `@Sse()` handler. */
  sse$(model: string, messages: readonly ChatMessage[], opts?: ChatOptions): Observable<ChatSseEvent> {
    return new Observable<ChatSseEvent>((subscriber) => {
      const sub = this.stream$(model, messages, opts).subscribe({
        next: (data) => subscriber.next({ data }),
        error: (e) => subscriber.error(e),
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

  reload(options: LlmRotateOptions | Record<string, unknown>): Promise<void> {
    return this.engine.reload(options as LlmRotateOptions);
  }

  snapshot(): Promise<PoolSnapshot> {
    return this.engine.snapshot();
  }

  storeHealth(): StoreHealth {
    return this.engine.storeHealth();
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.engine.close();
    this.usageSubject.complete();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
