import type { StrategyName } from '../config/options.interfaces';
import { healthAwareStrategy } from './health-aware.strategy';
import { priorityStrategy } from './priority.strategy';
import { roundRobinStrategy } from './round-robin.strategy';
import type { SelectionStrategy } from './strategy.interfaces';
import { weightedStrategy } from './weighted.strategy';

export const STRATEGY_IMPLS: Readonly<Record<StrategyName, SelectionStrategy>> = {
  health_aware: healthAwareStrategy,
  round_robin: roundRobinStrategy,
  priority: priorityStrategy,
  weighted: weightedStrategy,
};
