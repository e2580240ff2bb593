/**
 * A worker that takes one lease and then waits to be killed (a crash: it never releases).
 * Usage: node -r @swc-node/register test/support/redis-lease.child.ts <redisUrl> <namespace> <keyId> <maxConcurrent> <ttlMs>
 * Prints one JSON line: { token } (null when the lease was refused).
 */
import { spec, redisStore } from './redis-store';

async function main(): Promise<void> {
  const [url, ns, keyId, maxConcurrent, ttl] = process.argv.slice(2);
  const { store } = redisStore({ redisUrl: url, redisNamespace: ns });
  const [entry] = await store.sync([spec(keyId, { maxConcurrent: Number(maxConcurrent) })]);
  const lease = await store.lease(entry, Number(ttl));
  process.stdout.write(`${JSON.stringify({ token: lease?.token ?? null, health: store.health().status })}\n`);
  setInterval(() => undefined, 60_000);
}

void main();
