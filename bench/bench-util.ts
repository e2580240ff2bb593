import type Redis from 'ioredis';
import type { RedisStateStore } from '../lib/core/store/redis/redis.store';

export const QUIET = { warn: () => undefined, error: () => undefined };

/** The `p` quantile of `v` in µs (v in ms; sorts v). */
export function quantile(v: number[], p: number): number {
  v.sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(v.length * p))] * 1000;
}

/** The Redis store's own connection (private; read here only to time a PING on the very same client). */
export function storeClient(store: RedisStateStore): Redis {
  return (store as unknown as { client: Redis }).client;
}

/** EVAL/EVALSHA calls the server has run so far (INFO commandstats): our BATCH and SYNC scripts. */
export async function batchCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) n += Number(m[1]);
  return n;
}

/** CPU seconds the Redis server has used so far (INFO cpu: user + sys, main thread and children). */
export async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const v = (k: string): number => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return v('used_cpu_user') + v('used_cpu_sys');
}
