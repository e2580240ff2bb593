import { Inject, Injectable, Logger, type MessageEvent, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { ConfigurationError } from '../../core/errors';
import type { LlmRotate } from '../../core/llm-rotate';
import type { UsageSummary } from '../../core/observability/usage-summary';
import { getLlmRotateEngineToken } from '../llm-rotate.tokens';
import { DASHBOARD_LOGGER_CONTEXT, LIVE_EVENTS_MAX, LLM_ROTATE_DASHBOARD_SETTINGS } from './dashboard.constants';
import type {
  DashboardAction,
  DashboardEventsView,
  DashboardKeyView,
  DashboardSettings,
  DashboardStateView,
  DashboardStatusView,
} from './dashboard.interfaces';
import { DashboardLive, type EndingResponse, type LiveFrame } from './dashboard.live';
import { eventViews, keyViews, recentStats, soonestExpiry, statusView, totals } from './dashboard.views';
import { RecentEvents } from './recent-events';

/**
 * One mounted dashboard: finds its pool's engine, keeps the recent-events buffer while mounted (subscribed to the
 * engine's usage events from `onModuleInit` to `onModuleDestroy`), makes the JSON views and runs the live stream.
 * Every view is built from the engine's public, secret-free views (`snapshot()`, `usageSummary()`, usage events).
 */
@Injectable()
export class LlmRotateDashboardService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DASHBOARD_LOGGER_CONTEXT);
  private engineRef: LlmRotate | undefined;
  private buffer: RecentEvents;
  private readonly live: DashboardLive;
  private unsubscribe: (() => void) | undefined;
  private lastError: string | undefined;

  constructor(
    @Inject(LLM_ROTATE_DASHBOARD_SETTINGS) readonly settings: DashboardSettings,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.buffer = new RecentEvents(0);
    this.live = new DashboardLive((after) => this.frame(after), settings.refreshMs, (e) => this.liveFailed(e));
  }

  onModuleInit(): void {
    const engine = this.engine;
    this.buffer = new RecentEvents(this.settings.recentEvents);
    const buffer = this.buffer;
    const live = this.live;
    // The hot path's share: store a reference, move an index; and, only while a page is connected, arm a timer.
    this.unsubscribe = engine.onUsage((e) => {
      buffer.push(e);
      live.poke();
    });
  }

  /** Stops listening, ends the pages' live streams (before Nest closes the HTTP server) and drops the buffer. */
  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.live.stop();
    this.buffer.clear();
  }

  /** The pool's engine (looked up once, anywhere in the app: the pool's module need not be global). */
  get engine(): LlmRotate {
    if (this.engineRef === undefined) {
      const token = getLlmRotateEngineToken(this.settings.pool);
      try {
        this.engineRef = this.moduleRef.get<LlmRotate>(token, { strict: false });
      } catch {
        const pool = this.settings.pool;
        const problem =
          pool === undefined
            ? 'pool: the app has no default pool (import LlmRotateModule.forRoot(...), or name a pool)'
            : `pool: the app has no pool named "${pool}" (import LlmRotateModule.forRoot({ name: '${pool}', ... }))`;
        throw new ConfigurationError([problem], `LlmRotateDashboardModule: ${problem}`);
      }
    }
    return this.engineRef;
  }

  async status(): Promise<DashboardStatusView> {
    const snap = await this.engine.snapshot();
    return statusView(snap, this.engine.usageSummary(), this.buffer, this.settings.pool, this.settings.actionsEnabled, Date.now());
  }

  async keys(): Promise<DashboardKeyView[]> {
    const snap = await this.engine.snapshot();
    return keyViews(snap, this.engine.usageSummary(), recentStats(this.buffer), Date.now());
  }

  usage(): UsageSummary {
    return this.engine.usageSummary();
  }

  events(limit?: number): DashboardEventsView {
    return { capacity: this.buffer.capacity, total: this.buffer.total, events: eventViews(this.buffer, 0, limit) };
  }

  /**
   * The live stream: an SSE `state` event at once, then on every change (throttled) and every `refreshMs`.
   * `response` (the Node response of the request) lets shutdown wait for the stream's end.
   */
  stream(response?: EndingResponse): Observable<MessageEvent> {
    return this.live.connect(response);
  }

  /** Applies an operator action; false when the pool has no such key. */
  async act(keyId: string, action: DashboardAction): Promise<boolean> {
    const engine = this.engine;
    const done = action === 'disable' ? await engine.disableKey(keyId) : action === 'enable' ? await engine.enableKey(keyId) : await engine.resetKey(keyId);
    if (done) {
      this.logger.log(`Operator action: ${action} key "${keyId}"${this.settings.pool === undefined ? '' : ` of pool "${this.settings.pool}"`}`);
      this.live.poke();
    }
    return done;
  }

  private async frame(afterSeq: number): Promise<LiveFrame> {
    const snap = await this.engine.snapshot();
    const now = Date.now();
    const summary = this.engine.usageSummary();
    const keys = keyViews(snap, summary, recentStats(this.buffer), now);
    const state: DashboardStateView = {
      status: statusView(snap, summary, this.buffer, this.settings.pool, this.settings.actionsEnabled, now),
      keys,
      totals: totals(summary.total),
      events: eventViews(this.buffer, afterSeq, LIVE_EVENTS_MAX),
    };
    this.lastError = undefined;
    return { state, seq: this.buffer.total, nextExpiry: soonestExpiry(keys, now) };
  }

  private liveFailed(e: unknown): void {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    // Once per distinct problem (a closed engine during shutdown, …), not on every tick.
    if (msg !== this.lastError) {
      this.lastError = msg;
      this.logger.warn(`A live update failed: ${msg}`);
    }
  }
}
