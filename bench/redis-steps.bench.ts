import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { systemClock } from '../lib/core/clock';
import { RedisStateStore } from '../lib/core/store/redis/redis.store';
import type { KeyEntry, StoreKeySpec } from '../lib/core/store/store.interfaces';
import { startRedis } from './redis-server';

export interface StepRow {
  keys: number;
  callers: number;
  ping: Quantiles;
  lease: Quantiles;
  report: Quantiles;
  release: Quantiles;
}

export interface Quantiles {
  p50us: number;
  p99us: number;
}

const QUIET = { warn: () => undefined, error: () => undefined };

function spec(i: number): StoreKeySpec {
  return {
    keyId: `k${i}`,
    enabled: true,
    maxConcurrent: 8,
    rateLimitRpm: 0,
    rateLimitTpm: 0,
    health: { cooldownMs: 60_000, quarantineMs: 300_000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 },
  };
}

function quantiles(v: number[]): Quantiles {
  v.sort((a, b) => a - b);
  return { p50us: v[v.length >> 1] * 1000, p99us: v[Math.floor(v.length * 0.99)] * 1000 };
}

/**
 * Each Redis store step on its own (one round trip each), timed interleaved with a raw PING on another connection
 * to the same server, so both see the same machine load: `callers` loops, each doing PING, lease, report (which
 * releases), then lease + release, over `keys` keys, for `ms` milliseconds.
 */
export async function redisStepBench(redisUrl: string, keys: number, callers: number, ms = 2000): Promise<StepRow> {
  const store = new RedisStateStore({ backend: 'redis', redisUrl, redisNamespace: `steps${keys}x${callers}` }, systemClock, QUIET);
  const entries: KeyEntry[] = await store.sync(Array.from({ length: keys }, (_, i) => spec(i)));
  if (store.health().status !== 'up') throw new Error(`the store is not connected: ${store.health().detail}`);
  const ping = new Redis(redisUrl);
  const lat = { ping: [] as number[], lease: [] as number[], report: [] as number[], release: [] as number[] };
  let next = 0;
  const round = async (record: boolean): Promise<void> => {
    const e = entries[next++ % keys];
    let s = performance.now();
    await ping.ping();
    const tPing = performance.now() - s;
    s = performance.now();
    const l = await store.lease(e, 60_000);
    const tLease = performance.now() - s;
    if (l === null) throw new Error('lease refused');
    s = performance.now();
    await store.report(l, { kind: 'success' }, 10);
    const tReport = performance.now() - s;
    const l2 = await store.lease(e, 60_000);
    if (l2 === null) throw new Error('lease refused');
    s = performance.now();
    await store.release(l2);
    const tRelease = performance.now() - s;
    if (record) {
      lat.ping.push(tPing);
      lat.lease.push(tLease);
      lat.report.push(tReport);
      lat.release.push(tRelease);
    }
  };
  for (let i = 0; i < 300; i++) await round(false);
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) await round(true);
    }),
  );
  ping.disconnect();
  await store.close();
  return { keys, callers, ping: quantiles(lat.ping), lease: quantiles(lat.lease), report: quantiles(lat.report), release: quantiles(lat.release) };
}

export function stepTable(rows: StepRow[]): string {
  const f = (n: number): string => n.toFixed(0);
  const lines = [
    '| keys | concurrent callers | PING p50 / p99 µs | lease p50 / p99 µs | report p50 / p99 µs | release p50 / p99 µs | lease p50 ÷ PING p50 | report p50 ÷ PING p50 |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.keys} | ${r.callers} | ${f(r.ping.p50us)} / ${f(r.ping.p99us)} | ${f(r.lease.p50us)} / ${f(r.lease.p99us)} | ${f(r.report.p50us)} / ${f(r.report.p99us)} | ` +
        `${f(r.release.p50us)} / ${f(r.release.p99us)} | ${(r.lease.p50us / r.ping.p50us).toFixed(2)}× | ${(r.report.p50us / r.ping.p50us).toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}

/** `node -r @swc-node/register bench/redis-steps.bench.ts [--quick]`: the per-step table alone. */
async function main(): Promise<void> {
  const ms = process.argv.includes('--quick') ? 500 : 2000;
  const redis = await startRedis();
  try {
    const rows: StepRow[] = [];
    for (const keys of [10, 1000]) for (const callers of [1, 8]) rows.push(await redisStepBench(redis.url, keys, callers, ms));
    console.log('Redis store, each step on its own (one EVALSHA each) vs a raw PING interleaved on the same server:\n');
    console.log(stepTable(rows));
  } finally {
    await redis.stop();
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
