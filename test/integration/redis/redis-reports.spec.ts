import type Redis from 'ioredis';
import type { Lease } from '../../../lib/core/store/store.interfaces';
import { RedisProxy } from '../../support/redis-proxy';
import { RedisServer } from '../../support/redis-server';
import { eventually, redisStore, spec, uniqueNamespace, within } from '../../support/redis-store';

/**
 * Reports and releases travel behind the caller (issue 10): they must still reach Redis — flushed by close(), kept
 * for the resync when they cannot be delivered — and close() frees the leases this worker still holds, only those.
 */
describe('Redis store: what is sent behind the caller arrives', () => {
  let server: RedisServer;
  let admin: Redis;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = server.client();
  });
  afterEach(async () => {
    while (closers.length > 0) await (closers.pop() as () => Promise<unknown>)().catch(() => undefined);
  });
  afterAll(async () => {
    await admin?.quit();
    await server?.close();
  });

  function store(ns: string, url = server.url, commandTimeoutMs?: number) {
    const s = redisStore({ redisUrl: url, redisNamespace: ns, commandTimeoutMs });
    closers.push(() => s.store.close());
    return s;
  }

  it('close() delivers the reports and releases still queued', async () => {
    const ns = uniqueNamespace('flush');
    const { store: s } = store(ns);
    const [a, b] = await s.sync([spec('a'), spec('b', { maxConcurrent: 2 })]);
    const la = (await s.lease(a, 60_000)) as Lease;
    const lb = (await s.lease(b, 60_000)) as Lease;
    // Both resolve at once (nothing sent yet), then close() before any other tick.
    await s.report(la, { kind: 'rate_limit', retryAfterMs: 30_000 }, 0);
    await s.release(lb);
    await s.close();
    expect(await admin.hget(`{${ns}}:s:a`, 's')).toBe('COOLDOWN');
    expect(await admin.zcard(`{${ns}}:l:a`)).toBe(0);
    expect(await admin.zcard(`{${ns}}:l:b`)).toBe(0);
  });

  it('close() frees the leases this worker holds, and leaves other workers\' leases alone', async () => {
    const ns = uniqueNamespace('close-leases');
    const { store: one } = store(ns);
    const { store: two } = store(ns);
    const [k1, j1] = await one.sync([spec('k', { maxConcurrent: 5 }), spec('j')]);
    const [k2] = await two.sync([spec('k', { maxConcurrent: 5 }), spec('j')]);
    const mine = await Promise.all([one.lease(k1, 60_000), one.lease(k1, 60_000), one.lease(j1, 60_000)]);
    const theirs = await Promise.all([two.lease(k2, 60_000), two.lease(k2, 60_000)]);
    expect([...mine, ...theirs].every((l) => l !== null)).toBe(true);
    expect(await admin.zcard(`{${ns}}:l:k`)).toBe(4);
    await one.close();
    expect((await admin.zrange(`{${ns}}:l:k`, 0, -1)).sort()).toEqual(theirs.map((l) => (l as Lease).token).sort());
    expect(await admin.zcard(`{${ns}}:l:j`)).toBe(0);
    // The other worker's leases still count against maxConcurrent.
    expect((await two.snapshot()).find((r) => r.keyId === 'k')?.leasesInUse).toBe(2);
  });

  it('a report that cannot be delivered lands in the resync: its cooldown and its freed lease reach Redis once it is back', async () => {
    const proxy = await RedisProxy.start(server.port);
    closers.push(() => proxy.close());
    const ns = uniqueNamespace('undelivered');
    const { store: s, lines } = store(ns, proxy.url, 300);
    const [e] = await s.sync([spec('k', { maxConcurrent: 3 })]);
    const lease = (await s.lease(e, 60_000)) as Lease;
    proxy.hold(0);
    await within(5000, s.report(lease, { kind: 'rate_limit', retryAfterMs: 30_000 }, 0));
    await eventually(() => proxy.held === 1, 5000, 'the report held at the proxy');
    // The network fails with the report on its way: it never reaches Redis.
    proxy.refuse();
    proxy.cut();
    proxy.release();
    await eventually(() => s.health().status === 'degraded', 5000, 'degraded');
    expect(await admin.hget(`{${ns}}:s:k`, 's')).toBe('ACTIVE');
    expect(await admin.zcard(`{${ns}}:l:k`)).toBe(1);
    expect(e.state).toBe('COOLDOWN'); // this worker knows it all along
    proxy.accept();
    await eventually(() => s.health().status === 'up', 10_000, 'back up');
    await eventually(async () => (await admin.hget(`{${ns}}:s:k`, 's')) === 'COOLDOWN', 5000, 'the cooldown in Redis');
    expect(await admin.zcard(`{${ns}}:l:k`)).toBe(0);
    const until = Number(await admin.hget(`{${ns}}:s:k`, 'u'));
    const [sec] = await admin.time();
    expect(until - Number(sec) * 1000).toBeGreaterThan(20_000);
    expect(lines.some((l) => /unreachable/.test(l))).toBe(true);
  });
});
