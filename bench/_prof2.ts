import { performance } from 'node:perf_hooks';
import { systemClock } from '../lib/core/clock';
import { RedisStateStore } from '../lib/core/store/redis/redis.store';
import { startRedis } from './redis-server';
import { QUIET } from './bench-util';
async function main() {
  const r = await startRedis();
  const store = new RedisStateStore({ backend: 'redis', redisUrl: r.url, redisNamespace: 'p' }, systemClock, QUIET);
  const entries = await store.sync(Array.from({ length: 20 }, (_, i) => ({ keyId: `k${i}`, enabled: true, maxConcurrent: i % 2 === 0 ? 64 : 0, rateLimitRpm: 0, rateLimitTpm: 0, health: { cooldownMs: 60000, quarantineMs: 300000, maxConsecutiveFailures: 3, maxBenchMs: 3600000 } })));
  let next = 0; let n = 0;
  const end = performance.now() + 4000; const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 64 }, async () => { while (performance.now() < end) { const l = await store.lease(entries[next++ % 20], 60000); await store.report(l!, { kind: 'success' }, 12); n++; } }));
  const u = process.cpuUsage(c0);
  console.log(n / 4, '/s', ((u.user + u.system) / n).toFixed(2), 'µs node/cycle');
  await store.close(); await r.stop();
}
main();
