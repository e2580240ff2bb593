import { startRedis } from './redis-server';
import { throughputBench } from './throughput.bench';
async function main() {
  const r = await startRedis();
  try { console.log(await throughputBench(r.url, Number(process.env.C ?? 64), 1500, 2)); } finally { await r.stop(); }
}
main();
