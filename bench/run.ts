import { cpus } from 'node:os';
import { engineOverhead } from './engine.bench';
import { observabilityOverhead, observabilityTable } from './observability.bench';
import { startRedis } from './redis-server';
import { redisStepBench, stepTable, type StepRow } from './redis-steps.bench';
import { memorySelectBench, pingBench, roundTripsPerChat, storeBench, type StoreRow } from './store.bench';

/** `npm run bench`: prints the README's benchmark tables (Markdown) for this machine. */
async function main(): Promise<void> {
  const fast = process.argv.includes('--quick');
  const ms = fast ? 500 : 2000;
  const redis = await startRedis();
  try {
    const rows: StoreRow[] = [];
    for (const store of ['memory', 'redis'] as const) {
      for (const keys of [10, 1000]) {
        for (const callers of [1, 8]) rows.push(await storeBench(store, keys, callers, redis.url, ms));
      }
    }
    const ping1 = await pingBench(redis.url, 1, ms);
    const ping8 = await pingBench(redis.url, 8, ms);
    const sel10 = await memorySelectBench(10, fast ? 10_000 : 50_000);
    const sel1000 = await memorySelectBench(1000, fast ? 10_000 : 50_000);
    const steps: StepRow[] = [];
    for (const keys of [10, 1000]) for (const callers of [1, 8]) steps.push(await redisStepBench(redis.url, keys, callers, ms));
    const rtt = await roundTripsPerChat(redis.url, fast ? 50 : 200);
    const eng = await engineOverhead(fast ? 500 : 3000);
    const obs = await observabilityOverhead(fast ? 100 : 200, fast ? 3 : 16);

    const f = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
    console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, redis-server on 127.0.0.1 (private, no persistence)\n`);
    console.log('acquire + report + release through the engine (select+lease, report+release):\n');
    console.log('| store | keys | concurrent callers | ops/s | p50 µs | p99 µs |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.store} | ${r.keys} | ${r.callers} | ${r.opsPerSec} | ${f(r.p50us)} | ${f(r.p99us)} |`);
    console.log(`\nRaw redis PING (ioredis, same server): p50 ${f(ping1.p50us)} µs / p99 ${f(ping1.p99us)} µs with 1 caller; p50 ${f(ping8.p50us)} µs with 8.`);
    console.log('\nRedis store, each step on its own (one EVALSHA each) vs a raw PING interleaved on the same server:\n');
    console.log(stepTable(steps));
    console.log(`\nMemory store selection (acquire: pick + lease): 10 keys p50 ${f(sel10.p50us)} µs (p99 ${f(sel10.p99us)}); 1,000 keys p50 ${f(sel1000.p50us)} µs (p99 ${f(sel1000.p99us)}).`);
    console.log(`Redis commands per chat(): ${rtt.plain.toFixed(2)} for a call that succeeds on its first key; ${rtt.rotating.toFixed(2)} for a call that meets one 429 and rotates.`);
    console.log(`chat() against a local upstream: p50 ${f(eng.chatP50)} µs vs a bare fetch ${f(eng.rawP50)} µs: the engine adds ~${f(eng.chatP50 - eng.rawP50)} µs per call (p99 ${f(eng.chatP99)} vs ${f(eng.rawP99)} µs).`);
    console.log('\nchat() with metrics and tracing on vs off (same local upstream, memory store, 10 keys):\n');
    console.log(observabilityTable(obs));
  } finally {
    await redis.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
