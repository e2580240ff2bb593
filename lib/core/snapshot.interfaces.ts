import type { StrategyName } from './config/options.interfaces';
import type { KeyStateSnapshot, StoreHealth } from './store/store.interfaces';
import type { ProviderName } from './types';

export interface KeySnapshot extends KeyStateSnapshot {
  provider: ProviderName;
  models: string[];
  priority: number;
  weight: number;
  /** Selectable right now (healthy, not at maxConcurrent, not at its rate limit). */
  available: boolean;
}

/** `snapshot()`: the pool's status. Key ids only, never a secret or secretRef. */
export interface PoolSnapshot {
  strategy: StrategyName;
  store: StoreHealth;
  keys: KeySnapshot[];
  providers: Partial<Record<ProviderName, { keys: number; available: number }>>;
}
