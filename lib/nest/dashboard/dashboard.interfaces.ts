import type { CanActivate, InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { KeyState } from '../../core/health/health.interfaces';
import type { UsageTotals } from '../../core/observability/usage-summary';
import type { StrategyName } from '../../core/config/options.interfaces';
import type { StoreHealth } from '../../core/store/store.interfaces';
import type { AttemptOutcome, ProviderName, UsageEvent } from '../../core/types';

/** Operator actions: disable / re-enable a key, clear its cooldown or quarantine. Off by default. */
export type LlmRotateDashboardActions =
  | {
      enabled: true;
      /** Every action request must pass this guard (created with DI in the dashboard's module: see `imports`). */
      guard: Type<CanActivate>;
    }
  | { enabled: false; guard?: Type<CanActivate> };

/** `LlmRotateDashboardModule.register(options)`. */
export interface LlmRotateDashboardOptions {
  /** Where the page is served, and its JSON under it (`<path>/keys`, …). Default `llm-rotate`. */
  path?: string;
  /** A named pool (`LlmRotateModule.forRoot({ name })`); default: the default pool. */
  pool?: string;
  /** Off by default: the action routes do not exist and the page shows no buttons. When on, a guard is required. */
  actions?: LlmRotateDashboardActions;
  /** Size of the recent-events ring buffer (allocated once, while the dashboard is mounted). Default 200; 0 keeps none. */
  recentEvents?: number;
  /** How often live pages are refreshed when nothing happens in this process (ms). Default 2000. */
  refreshMs?: number;
  /** Modules the actions' guard needs (its injected dependencies). */
  imports?: ModuleMetadata['imports'];
}

/** What `registerAsync`'s factory returns: the options that do not shape routes. */
export interface LlmRotateDashboardRuntimeOptions {
  /** Turns the actions on; only allowed when `actionsGuard` was given to `registerAsync`. */
  actions?: { enabled: boolean };
  recentEvents?: number;
  refreshMs?: number;
}

/**
 * `LlmRotateDashboardModule.registerAsync(options)`. `path`, `pool` and `actionsGuard` shape the routes and are
 * given as they are; the rest comes from `useFactory`. With `actionsGuard`, the action routes exist and answer 404
 * until the factory turns them on; without it there are none.
 */
export interface LlmRotateDashboardAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  path?: string;
  pool?: string;
  actionsGuard?: Type<CanActivate>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...args: never[]) => LlmRotateDashboardRuntimeOptions | Promise<LlmRotateDashboardRuntimeOptions>;
}

/** @internal The validated settings of one mounted dashboard. */
export interface DashboardSettings {
  path: string;
  pool: string | undefined;
  /** The action routes are answered (they exist when a guard was given). */
  actionsEnabled: boolean;
  recentEvents: number;
  refreshMs: number;
}

export type DashboardAction = 'disable' | 'enable' | 'reset';

/** A key's recent attempts, from the recent-events buffer (this process only). */
export interface DashboardRecentStats {
  /** Attempts in the buffer, without those the caller ended (`cancelled`) or caused (`bad_request`). */
  attempts: number;
  successes: number;
  /** `successes / attempts`, or null without attempts. */
  successRate: number | null;
  lastOutcome?: AttemptOutcome;
  /** ISO time of the key's last event in the buffer. */
  lastAt?: string;
}

/** `GET <path>/keys`: one key. Key ids only, never a secret or a secretRef. */
export interface DashboardKeyView {
  keyId: string;
  provider: ProviderName;
  models: string[];
  priority: number;
  weight: number;
  state: KeyState;
  /** ISO time a cooldown or quarantine ends; null otherwise. */
  until: string | null;
  /** Milliseconds left in the cooldown or quarantine; null otherwise. */
  msLeft: number | null;
  consecutiveFailures: number;
  leasesInUse: number;
  requestsThisMinute: number;
  tokensThisMinute: number;
  /** Selectable right now by this process. */
  available: boolean;
  /** Why this process holds the key back although its health is fine (e.g. its secret cannot be resolved). */
  reason?: string;
  recent: DashboardRecentStats;
  /** This process's counters since start (`usageSummary().byKey`): attempts, failures by kind, tokens, cost. */
  usage: UsageTotals;
}

export interface DashboardProviderView {
  provider: ProviderName;
  keys: number;
  available: number;
}

/** `GET <path>/status`: the pool at a glance. */
export interface DashboardStatusView {
  /** The named pool, or null for the default pool. */
  pool: string | null;
  generatedAt: string;
  /** Server time (epoch ms) the view was made at: the page counts down from it. */
  now: number;
  strategy: StrategyName;
  store: StoreHealth;
  providers: DashboardProviderView[];
  keys: { total: number; available: number; byState: Record<KeyState, number> };
  /** The operator actions are on (the page shows buttons). */
  actions: boolean;
  recentEvents: { capacity: number; size: number; total: number };
  /** ISO time this process's usage counters started. */
  usageSince: string;
}

/** One usage event as the dashboard shows it (`seq` numbers them since the dashboard was mounted; `at` is its ISO time). */
export interface DashboardEventView extends UsageEvent {
  seq: number;
  at: string;
}

/** `GET <path>/events`. */
export interface DashboardEventsView {
  capacity: number;
  /** Events seen since the dashboard was mounted (the buffer keeps the last `capacity`). */
  total: number;
  /** Oldest first. */
  events: DashboardEventView[];
}

/** What the live stream (`GET <path>/stream`, SSE event `state`) sends: the whole picture, events since the last one. */
export interface DashboardStateView {
  status: DashboardStatusView;
  keys: DashboardKeyView[];
  totals: UsageTotals;
  /** Events not sent to this client before (on connect: the buffered ones), oldest first; at most the newest 100. */
  events: DashboardEventView[];
}

/** The answer to an operator action. */
export interface DashboardActionResult {
  keyId: string;
  action: DashboardAction;
  /** The key right after the action. */
  key: DashboardKeyView | undefined;
}
