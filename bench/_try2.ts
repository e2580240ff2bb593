import { startRedis } from './redis-server';
import { workersBench, workersTable } from './workers.bench';
async function main() {
  const r = await startRedis();
  try {
    const rows = [await workersBench('redis', 'chat', r.url, 4, 16, 1000), await workersBench('redis', 'chat', r.url, 4, 16, 1000)];
    console.log(workersTable(rows));
  } finally { await r.stop(); }
}
main();
