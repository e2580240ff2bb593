import type { KeyRuntime, ResolvedConfig } from '../config/resolved-config';
import type { LlmRotateOptions } from '../config/options.interfaces';
import type { Outcome } from '../health/health.interfaces';
import type { AttemptObserver } from '../observability/observer.interfaces';
import type { Planner, PlanStep } from '../planning/planner';
import type { CallTarget, ProviderAdapter } from '../providers/provider.interfaces';
import type { SelectionStrategy } from '../selection/strategy.interfaces';
import type { KeyEntry, Lease } from '../store/store.interfaces';
import type { EstimatedCost } from '../observability/pricing/price.interfaces';
import type { Attempt, Usage } from '../types';

/** One configuration in force (a reload swaps the whole object). */
export interface Runtime {
  readonly options: LlmRotateOptions;
  readonly config: ResolvedConfig;
  readonly planner: Planner;
  readonly strategy: SelectionStrategy;
}

/**
 * One attempt in progress: a leased key, its resolved target (secret included) and adapter. It ends exactly once,
 * through `AttemptRunner.settle` (an outcome) or `AttemptRunner.fail` (a thrown error).
 */
export interface LeasedAttempt {
  readonly step: PlanStep;
  /** 0: the model asked for; more: a fallback step. */
  readonly stepIndex: number;
  readonly key: KeyRuntime;
  readonly entry: KeyEntry;
  readonly lease: Lease;
  readonly target: CallTarget;
  readonly adapter: ProviderAdapter;
  /** 1-based number of this attempt within its call. */
  readonly number: number;
  /** performance.now() when the key was leased. */
  readonly t0: number;
  readonly obs: AttemptObserver | undefined;
  ended: boolean;
}

/** How one attempt ended, before the call decides what to do next. */
export interface AttemptEnd {
  readonly outcome: Outcome | LocalFailure;
  readonly attempt: Attempt;
  readonly error?: Error;
  /** Tokens the attempt used and their estimated cost (success only). */
  readonly usage?: Usage;
  readonly costUsd?: EstimatedCost;
}

/** The key could not be used from this process (its secret, a request that cannot be built): not its health. */
export interface LocalFailure {
  readonly kind: 'local_error';
}
