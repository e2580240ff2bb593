import type { Clock } from '../clock';
import type { StateStoreOptions } from '../config/options.interfaces';
import type { LlmRotateLogger } from '../logger';
import { MemoryStateStore } from './memory.store';
import type { StateStore } from './store.interfaces';

/** Builds the configured store. The Redis store (and ioredis) is loaded only when configured. */
export function createStateStore(options: StateStoreOptions, clock: Clock, logger: LlmRotateLogger): StateStore {
  if (options.backend === 'redis') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { RedisStateStore } = require('./redis/redis.store') as typeof import('./redis/redis.store');
    return new RedisStateStore(options, clock, logger);
  }
  return new MemoryStateStore(clock);
}
