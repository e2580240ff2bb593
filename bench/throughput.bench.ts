import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { systemClock } from '../lib/core/clock';
import { RedisStateStore } from '../lib/core/store/redis/redis.store';
import type { KeyEntry, StoreKeySpec } from '../lib/core/store/store.interfaces';
import { batchCalls, QUIET, redisCpuSeconds, storeClient } from './bench-util';

export interface ThroughputRow {
  callers: number;
  /** lease + report cycles per second (each caller: await lease, then report, again). */
  cycles: number;
  /** PINGs per second on the store's own connection, the same callers in flight together (pipelined). */
  ping: number;
  /** PINGs per second on a client with ioredis auto-pipelining (one write per tick): the best ioredis does. */
  pingAuto: number;
  /** Round trips (BATCH calls) per lease + report cycle. */
  tripsPerCycle: number;
  /** CPU per cycle, this process and the Redis server, µs (PING's for comparison). */
  nodeUs: number;
  redisUs: number;
  pingNodeUs: number;
  pingRedisUs: number;
}

function spec(i: number): StoreKeySpec {
  return {
    keyId: `k${i}`,
    enabled: true,
    maxConcurrent: i % 2 === 0 ? 64 : 0, // half the keys count their leases against a limit
    rateLimitRpm: 0,
    rateLimitTpm: 0,
    health: { cooldownMs: 60_000, quarantineMs: 300_000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 },
  };
}

interface Phase {
  count: number;
  ms: number;
  nodeUs: number;
  redisUs: number;
  trips: number;
}

/**
 * lease + report on the Redis store (20 keys) at `callers` concurrent callers, against PING on the same connection
 * with the same number of callers in flight, in alternating phases (`phases` × `ms` each) so the machine's load
 * hits both alike. CPU per operation (this process, and Redis from INFO) is the figure least moved by that load.
 */
export async function throughputBench(redisUrl: string, callers: number, ms = 300, phases = 4): Promise<ThroughputRow> {
  const store = new RedisStateStore({ backend: 'redis', redisUrl, redisNamespace: `bench-tp-${callers}` }, systemClock, QUIET);
  const entries: KeyEntry[] = await store.sync(Array.from({ length: 20 }, (_, i) => spec(i)));
  const client = storeClient(store);
  const auto = new Redis(redisUrl, { enableAutoPipelining: true });
  const admin = new Redis(redisUrl);
  await auto.ping();
  let next = 0;
  const cycle = async (): Promise<void> => {
    const lease = await store.lease(entries[next++ % entries.length], 60_000);
    if (lease === null) throw new Error('lease refused');
    await store.report(lease, { kind: 'success' }, 12);
  };
  const run = async (fn: () => Promise<unknown>, phaseMs: number): Promise<Phase> => {
    const c0 = process.cpuUsage();
    const r0 = await redisCpuSeconds(admin);
    const b0 = await batchCalls(admin);
    let count = 0;
    const t0 = performance.now();
    const end = t0 + phaseMs;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() < end) {
          await fn();
          count++;
        }
      }),
    );
    const elapsed = performance.now() - t0;
    await store.flush();
    const c = process.cpuUsage(c0);
    const trips = (await batchCalls(admin)) - b0;
    const redisUs = ((await redisCpuSeconds(admin)) - r0) * 1e6;
    return { count, ms: elapsed, nodeUs: c.user + c.system, redisUs, trips };
  };
  const sum = (a: Phase[]): Phase => a.reduce((x, y) => ({ count: x.count + y.count, ms: x.ms + y.ms, nodeUs: x.nodeUs + y.nodeUs, redisUs: x.redisUs + y.redisUs, trips: x.trips + y.trips }));
  await run(cycle, 200);
  await run(() => client.ping(), 100);
  const store_: Phase[] = [];
  const ping: Phase[] = [];
  const pingAuto: Phase[] = [];
  for (let i = 0; i < phases; i++) {
    store_.push(await run(cycle, ms));
    ping.push(await run(() => client.ping(), ms));
    pingAuto.push(await run(() => auto.ping(), ms));
  }
  auto.disconnect();
  admin.disconnect();
  await store.close();
  const s = sum(store_);
  const p = sum(ping);
  const pa = sum(pingAuto);
  return {
    callers,
    cycles: Math.round((s.count / s.ms) * 1000),
    ping: Math.round((p.count / p.ms) * 1000),
    pingAuto: Math.round((pa.count / pa.ms) * 1000),
    tripsPerCycle: s.trips / s.count,
    nodeUs: s.nodeUs / s.count,
    redisUs: s.redisUs / s.count,
    pingNodeUs: p.nodeUs / p.count,
    pingRedisUs: p.redisUs / p.count,
  };
}

export function throughputTable(rows: ThroughputRow[]): string {
  const lines = [
    '| concurrent callers | lease+report /s | PING /s, same connection | ratio | PING /s, auto-pipelined client | ratio | round trips per lease+report | CPU µs per lease+report (Node + Redis) | CPU µs per PING (Node + Redis) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.callers} | ${r.cycles} | ${r.ping} | ${(r.cycles / r.ping).toFixed(2)} | ${r.pingAuto} | ${(r.cycles / r.pingAuto).toFixed(2)} | ${r.tripsPerCycle.toFixed(3)} | ` +
        `${r.nodeUs.toFixed(1)} + ${r.redisUs.toFixed(1)} | ${r.pingNodeUs.toFixed(1)} + ${r.pingRedisUs.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}
