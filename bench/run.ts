import { cpus, loadavg } from 'node:os';
import { fetchOverhead, fetchTable } from './fetch.bench';
import { observabilityOverhead, observabilityTable } from './observability.bench';
import { overheadBench, overheadTable } from './overhead.bench';
import { startRedis } from './redis-server';
import { memorySelectBench, roundTripsPerChat, storeBench, type StoreRow } from './store.bench';
import { throughputBench, throughputTable, type ThroughputRow } from './throughput.bench';
import { workersBench, workersTable, type WorkersRow } from './workers.bench';

/** `npm run bench [-- --quick]`: prints the README's benchmark tables (Markdown) for this machine. */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const ms = quick ? 500 : 2000;
  const redis = await startRedis();
  const f = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const out = (s = ''): void => console.log(s);
  try {
    out(`Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, redis-server on 127.0.0.1 (private, no persistence); load average at start ${loadavg()[0].toFixed(2)}`);
    out();
    out('### 1. What a store adds to a caller: chat() against a local upstream, one caller, interleaved call by call');
    out();
    out(overheadTable(await overheadBench(redis.url, quick ? 500 : 3000)));
    out();
    out('### 2. lease + report on the Redis store vs PING on the same connection (20 keys, phases interleaved)');
    out();
    const tp: ThroughputRow[] = [];
    for (const callers of [1, 8, 64]) tp.push(await throughputBench(redis.url, callers, quick ? 150 : 400, quick ? 2 : 5));
    out(throughputTable(tp));
    const at64 = tp[tp.length - 1];
    out();
    out(
      `Target at 64 callers: lease+report ≥ 50% of the same client's pipelined PING: ${((at64.cycles / at64.ping) * 100).toFixed(0)}% of PING on the store's own ` +
        `connection, ${((at64.cycles / at64.pingAuto) * 100).toFixed(0)}% of PING on an auto-pipelining client.`,
    );
    out();
    out('### 3. Several worker processes on one Redis and one key pool (20 keys; 2 answer 429 with retry-after 300 s and have maxConcurrent 1)');
    out();
    const wk: WorkersRow[] = [];
    const wms = quick ? 1000 : 3000;
    wk.push(await workersBench('redis', 'chat', redis.url, 4, 16, wms));
    wk.push(await workersBench('memory', 'chat', redis.url, 4, 16, wms));
    wk.push(await workersBench('redis', 'store', redis.url, 4, 64, wms));
    wk.push(await workersBench('memory', 'store', redis.url, 4, 64, wms));
    out(workersTable(wk));
    out();
    out('### 4. acquire + report through the engine (no HTTP), memory vs Redis store');
    out();
    const rows: StoreRow[] = [];
    for (const store of ['memory', 'redis'] as const) {
      for (const keys of [10, 1000]) for (const callers of [1, 8]) rows.push(await storeBench(store, keys, callers, redis.url, ms));
    }
    out('| store | keys | concurrent callers | ops/s | p50 µs | p99 µs |');
    out('|---|---|---|---|---|---|');
    for (const r of rows) out(`| ${r.store} | ${r.keys} | ${r.callers} | ${r.opsPerSec} | ${f(r.p50us)} | ${f(r.p99us)} |`);
    out();
    const sel10 = await memorySelectBench(10, quick ? 10_000 : 50_000);
    const sel1000 = await memorySelectBench(1000, quick ? 10_000 : 50_000);
    const rtt = await roundTripsPerChat(redis.url, quick ? 50 : 200);
    out(`- Memory store selection (acquire: pick + lease): 10 keys p50 ${f(sel10.p50us)} µs (p99 ${f(sel10.p99us)}); 1,000 keys p50 ${f(sel1000.p50us)} µs (p99 ${f(sel1000.p99us)}).`);
    out(
      `- Redis commands per chat() (MONITOR), calls one after the other: ${rtt.plain.toFixed(2)} for a call that succeeds on its first key; ` +
        `${rtt.rotating.toFixed(2)} for a call that meets one 429 and rotates (its caller waits for 2: the two leases).`,
    );
    out();
    out("### 5. fetchFor(): the same `openai` client with Node's fetch and with `fetch: llm.fetchFor('openai')` (memory store, 10 keys), calls alternated one by one");
    out();
    out(fetchTable(await fetchOverhead(quick ? 300 : 2000)));
    out();
    out('### 6. Observability on the hot path: metrics and tracing on vs off (same local upstream, configurations interleaved)');
    out();
    out(observabilityTable(await observabilityOverhead(quick ? 100 : 200, quick ? 3 : 16)));
  } finally {
    await redis.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
