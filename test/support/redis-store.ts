import { LlmRotate, type KeySnapshot, type LlmRotateOptions, type RedisStoreOptions } from '../../lib';
import { systemClock } from '../../lib/core/clock';
import type { HealthSettings } from '../../lib/core/health/health.interfaces';
import { RedisStateStore } from '../../lib/core/store/redis/redis.store';
import type { StoreKeySpec } from '../../lib/core/store/store.interfaces';
import { makeOptions, recordingLogger, type TestKey } from './options';

let nsSeq = 0;
/** A namespace no other test uses. */
export function uniqueNamespace(label = 'test'): string {
  return `${label}-${process.pid}-${++nsSeq}`;
}

export const TEST_HEALTH: HealthSettings = { cooldownMs: 60_000, quarantineMs: 300_000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 };

export function spec(keyId: string, extra: Partial<StoreKeySpec> = {}): StoreKeySpec {
  return { keyId, enabled: true, maxConcurrent: 0, rateLimitRpm: 0, rateLimitTpm: 0, health: TEST_HEALTH, ...extra };
}

/** A bare store (what one worker process holds) with a recording logger. */
export function redisStore(options: Omit<RedisStoreOptions, 'backend'>): { store: RedisStateStore; lines: string[] } {
  const { lines, logger } = recordingLogger();
  return { store: new RedisStateStore({ backend: 'redis', ...options }, systemClock, logger), lines };
}

/** An engine on the Redis store against `baseUrl` (`store`: its state store, e.g. to `flush()` what it sends behind calls). */
export async function redisEngine(
  baseUrl: string,
  keys: TestKey[],
  store: Omit<RedisStoreOptions, 'backend'>,
  extra: Omit<Partial<LlmRotateOptions>, 'registry'> = {},
): Promise<{ lr: LlmRotate; lines: string[]; store: RedisStateStore }> {
  const { lines, logger } = recordingLogger();
  const stateStore: RedisStoreOptions = { backend: 'redis', ...store };
  const s = new RedisStateStore(stateStore, systemClock, logger);
  const lr = await LlmRotate.create(makeOptions(baseUrl, keys, { ...extra, stateStore }), { logger, store: s });
  return { lr, lines, store: s };
}

export async function keyRow(lr: LlmRotate, keyId: string): Promise<KeySnapshot> {
  const snap = await lr.snapshot();
  const row = snap.keys.find((k) => k.keyId === keyId);
  if (row === undefined) throw new Error(`no key ${keyId} in the snapshot`);
  return row;
}

/** Polls `fn` until it returns true (or fails after `ms`). */
export async function eventually(fn: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const HI = [{ role: 'user' as const, content: 'hi' }];

/** `p`, or a rejection after `ms` (a test that would otherwise hang fails instead). */
export function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
