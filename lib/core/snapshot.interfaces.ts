import type { StrategyName } from './config/options.interfaces';
import type { KeyStateSnapshot, StoreHealth } from './store/store.interfaces';
import type { ProviderName } from './types';

export interface KeySnapshot extends KeyStateSnapshot {
  provider: ProviderName;
  models: string[];
  priority: number;
  weight: number;
  /** Selectable right now (healthy, not at maxConcurrent, not at its rate limit, not held back by this process). */
  available: boolean;
  /** Why this process holds the key back although its health is fine (e.g. its secret cannot be resolved). */
  reason?: string;
}

/** `snapshot()`: the pool's status. Key ids only, never a secret or secretRef. */
export interface PoolSnapshot {
  strategy: StrategyName;
  store: StoreHealth;
  keys: KeySnapshot[];
  providers: Partial<Record<ProviderName, { keys: number; available: number }>>;
}
