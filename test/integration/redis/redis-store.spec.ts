import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { OpenAiFake } from '../../fakes/openai-fake';
import { LlmRotate } from '../../../lib';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { availableAt } from '../../../lib/core/store/availability';
import type { Lease } from '../../../lib/core/store/store.interfaces';
import { RedisProxy } from '../../support/redis-proxy';
import { LeaseChild } from '../../support/workers';
import { allKeys, RedisServer, roundTrips } from '../../support/redis-server';
import { eventually, HI, keyRow, redisEngine, redisStore, spec, uniqueNamespace, within } from '../../support/redis-store';

/** The Redis store against a real redis-server of its own: atomic steps, sharing, leases, namespaces, reload. */
describe('Redis state store', () => {
  let server: RedisServer;
  let admin: Redis;
  let fake: OpenAiFake;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = server.client();
    fake = await OpenAiFake.start();
  });
  afterEach(async () => {
    while (closers.length > 0) await (closers.pop() as () => Promise<unknown>)();
  });
  afterAll(async () => {
    await admin?.quit();
    await fake?.close();
    await server?.close();
  });

  function storeOpts(ns: string) {
    return { stateStore: { backend: 'redis' as const, redisUrl: server.url, redisNamespace: ns } };
  }

  async function engine(keys: TestKey[], ns: string) {
    const e = await redisEngine(fake.baseUrl, keys, { redisUrl: server.url, redisNamespace: ns });
    closers.push(() => e.lr.close());
    return e;
  }

  function store(ns: string) {
    const s = redisStore({ redisUrl: server.url, redisNamespace: ns });
    closers.push(() => s.store.close());
    return s.store;
  }

  /** Round trips (top-level commands, any client) while `fn` ran. */
  const commandsDuring = (fn: () => Promise<unknown>) => roundTrips(server, fn);

  describe('one round trip on the caller\'s path', () => {
    it('sequential chat() calls cost one BATCH each: every report rides with the next call\'s lease', async () => {
      const { lr, store: s } = await engine([{ keyId: 'a', secret: 'sk-rt-a' }, { keyId: 'b', secret: 'sk-rt-b' }], uniqueNamespace('rt'));
      await lr.chat('gpt-4o-mini', HI); // the first use of the script on a connection is an EVAL
      await s.flush();
      const delta = await commandsDuring(async () => {
        for (let i = 0; i < 10; i++) await lr.chat('gpt-4o-mini', HI);
        await s.flush(); // the last report, sent behind the last answer
      });
      // lease 1, then (report i + lease i+1) × 9, then report 10: two BATCH per call before, 1.1 now.
      expect(delta).toEqual(Array(11).fill('evalsha'));
    });

    it('chat() answers after its lease\'s round trip: the report is sent behind the answer', async () => {
      const proxy = await RedisProxy.start(server.port);
      closers.push(() => proxy.close());
      const ns = uniqueNamespace('behind');
      const { lr, store: s } = await redisEngine(fake.baseUrl, [{ keyId: 'k', secret: 'sk-bh-k' }], { redisUrl: proxy.url, redisNamespace: ns, commandTimeoutMs: 5000 });
      closers.push(() => lr.close());
      await lr.chat('gpt-4o-mini', HI);
      await s.flush();
      // Let exactly one command through (the lease), hold everything after it.
      proxy.hold(1);
      const r = await within(5000, lr.chat('gpt-4o-mini', HI));
      expect(r.keyId).toBe('k');
      await eventually(() => proxy.held === 1, 5000, 'the report at the proxy'); // its report, held on its way...
      expect(await admin.zcard(`{${ns}}:l:k`)).toBe(1); // ...so Redis still counts the lease
      proxy.release();
      await s.flush();
      expect(await admin.zcard(`{${ns}}:l:k`)).toBe(0);
      expect(lr.storeHealth().status).toBe('up');
    });

    it('a 429 benches the key in this worker\'s mirror at once, before its report reaches Redis', async () => {
      const proxy = await RedisProxy.start(server.port);
      closers.push(() => proxy.close());
      const ns = uniqueNamespace('local429');
      const { store: s } = redisStore({ redisUrl: proxy.url, redisNamespace: ns, commandTimeoutMs: 5000 });
      closers.push(() => s.close());
      const [e] = await s.sync([spec('k')]);
      const lease = await s.lease(e, 60_000);
      proxy.hold(0);
      await within(5000, s.report(lease as Lease, { kind: 'rate_limit', retryAfterMs: 30_000 }, 0));
      expect(e.state).toBe('COOLDOWN');
      expect(availableAt(e, Date.now())).toBeGreaterThan(Date.now() + 20_000);
      expect(await admin.hget(`{${ns}}:s:k`, 's')).toBe('ACTIVE'); // Redis has not heard of it yet
      proxy.release();
      await s.flush();
      expect(await admin.hget(`{${ns}}:s:k`, 's')).toBe('COOLDOWN');
      expect(e.state).toBe('COOLDOWN'); // the reply agrees with the mirror
    });

    it('a 429 then a success is three BATCH (the 429\'s report rides with the next lease); the next call skips the cooling key without asking Redis', async () => {
      fake.script('sk-rt429-a', 'rate_limit');
      const { lr, store: s } = await engine(
        [
          { keyId: 'w', secret: 'sk-rt429-w', models: ['warm-up'] },
          { keyId: 'a', secret: 'sk-rt429-a', priority: 1 },
          { keyId: 'b', secret: 'sk-rt429-b' },
        ],
        uniqueNamespace('rt'),
      );
      await lr.chat('warm-up', HI);
      await s.flush();
      const first = await commandsDuring(async () => {
        await lr.chat('gpt-4o-mini', HI);
        await s.flush();
      });
      expect(first).toEqual(Array(3).fill('evalsha'));
      const second = await commandsDuring(async () => {
        const r = await lr.chat('gpt-4o-mini', HI);
        expect(r.attempts.map((a) => a.keyId)).toEqual(['b']);
        await s.flush();
      });
      expect(second).toEqual(Array(2).fill('evalsha'));
    });

    it('concurrent calls share round trips: 64 leases taken in one tick are one BATCH, their 64 reports another', async () => {
      const ns = uniqueNamespace('batch');
      const s = store(ns);
      const entries = await s.sync(Array.from({ length: 20 }, (_, i) => spec(`k${i}`, { maxConcurrent: 4 })));
      await s.lease(entries[0], 60_000).then((l) => s.release(l as Lease)); // the first use of the script is an EVAL
      await s.flush();
      let leases: Array<Lease | null> = [];
      const taking = await commandsDuring(async () => {
        leases = await Promise.all(Array.from({ length: 64 }, (_, i) => s.lease(entries[i % 20], 60_000)));
      });
      expect(taking).toEqual(['evalsha']);
      expect(leases.filter((l) => l !== null)).toHaveLength(64);
      expect((await admin.zcard(`{${ns}}:l:k0`)) + (await admin.zcard(`{${ns}}:l:k19`))).toBe(4 + 3);
      // maxConcurrent holds inside one batch too: 20 keys × 4 = 80 slots, 16 left.
      const more = await Promise.all(Array.from({ length: 40 }, (_, i) => s.lease(entries[i % 20], 60_000)));
      expect(more.filter((l) => l !== null)).toHaveLength(16);
      const reporting = await commandsDuring(async () => {
        await Promise.all([...leases, ...more].map((l) => (l === null ? undefined : s.report(l, { kind: 'success' }, 1))));
        await s.flush();
      });
      expect(reporting).toEqual(['evalsha']);
      for (let i = 0; i < 20; i++) expect(await admin.zcard(`{${ns}}:l:k${i}`)).toBe(0);
    });

    it('release and report are sent behind the caller, and timers run on Redis time', async () => {
      const ns = uniqueNamespace('rel');
      const s = store(ns);
      const [e] = await s.sync([spec('k')]);
      const lease = await s.lease(e, 60_000);
      expect(lease).not.toBeNull();
      expect(await commandsDuring(async () => {
        await s.release(lease as Lease);
        await s.flush();
      })).toEqual(['evalsha']);
      expect(await admin.zcard(`{${ns}}:l:k`)).toBe(0);
      // A 429 stored on Redis time: until = Redis TIME at the report + retry-after.
      const l2 = await s.lease(e, 60_000);
      const [sec, usec] = await admin.time();
      const before = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
      await s.report(l2 as Lease, { kind: 'rate_limit', retryAfterMs: 7000 }, 0);
      await s.flush();
      const [sec2, usec2] = await admin.time();
      const after = Number(sec2) * 1000 + Math.floor(Number(usec2) / 1000);
      const until = Number(await admin.hget(`{${ns}}:s:k`, 'u'));
      expect(until).toBeGreaterThanOrEqual(before + 7000);
      expect(until).toBeLessThanOrEqual(after + 7000);
    });
  });

  it('a cooldown set by one worker is seen by another on its very next selection', async () => {
    const ns = uniqueNamespace('share');
    fake.script('sk-sh-hot', 'rate_limit');
    const keys = [
      { keyId: 'hot', secret: 'sk-sh-hot', priority: 1 },
      { keyId: 'cold', secret: 'sk-sh-cold' },
    ];
    const a = await engine(keys, ns);
    const b = await engine(keys, ns);
    const ra = await a.lr.chat('gpt-4o-mini', HI);
    expect(ra.attempts.map((x) => x.keyId)).toEqual(['hot', 'cold']);
    // b's mirror still says ACTIVE: its lease script refuses `hot` and b goes on to `cold` without calling it.
    const rb = await b.lr.chat('gpt-4o-mini', HI);
    expect(rb.attempts.map((x) => x.keyId)).toEqual(['cold']);
    expect(fake.hits('sk-sh-hot')).toBe(1);
    const row = await keyRow(b.lr, 'hot');
    expect(row.state).toBe('COOLDOWN');
    expect(Date.parse(row.until as string) - Date.now()).toBeGreaterThan(10_000); // the fake's 20 s reset
    expect(b.lr.storeHealth()).toEqual({ backend: 'redis', status: 'up' });
  });

  it('shares leases in use and the per-minute request window across workers', async () => {
    const ns = uniqueNamespace('window');
    // Stay clear of a minute boundary (the window is Redis' current minute).
    const [sec] = await admin.time();
    if (Number(sec) % 60 > 55) await sleep((61 - (Number(sec) % 60)) * 1000);
    const keys = [
      { keyId: 'x', secret: 'sk-win-x', priority: 1, rateLimitRpm: 3 },
      { keyId: 'y', secret: 'sk-win-y' },
    ];
    const a = await engine(keys, ns);
    const b = await engine(keys, ns);
    const used: string[] = [];
    for (let i = 0; i < 6; i++) used.push((await (i % 2 === 0 ? a : b).lr.chat('gpt-4o-mini', HI)).keyId);
    expect(used.filter((k) => k === 'x')).toHaveLength(3);
    expect(used.filter((k) => k === 'y')).toHaveLength(3);
    expect((await keyRow(b.lr, 'x')).requestsThisMinute).toBe(3);
    // A lease lent by one worker shows in the other's snapshot.
    const ctx = await a.lr.acquire('openai');
    expect((await keyRow(b.lr, ctx.keyId)).leasesInUse).toBe(1);
    await ctx.release();
    await a.store.flush(); // sent behind the caller: one round trip later every worker sees it
    expect((await keyRow(b.lr, ctx.keyId)).leasesInUse).toBe(0);
  });

  it('shares the per-minute token budget across workers', async () => {
    const ns = uniqueNamespace('tpm');
    const [sec] = await admin.time();
    if (Number(sec) % 60 > 55) await sleep((61 - (Number(sec) % 60)) * 1000);
    // The fake reports 9 + 3 = 12 tokens per answer ("Hello from gpt-4o-mini"): two answers spend a budget of 20.
    const keys = [
      { keyId: 'x', secret: 'sk-tpm-x', priority: 1, rateLimitTpm: 20 },
      { keyId: 'y', secret: 'sk-tpm-y' },
    ];
    const a = await engine(keys, ns);
    const b = await engine(keys, ns);
    expect((await a.lr.chat('gpt-4o-mini', HI)).keyId).toBe('x');
    expect((await b.lr.chat('gpt-4o-mini', HI)).keyId).toBe('x');
    expect((await a.lr.chat('gpt-4o-mini', HI)).keyId).toBe('y');
    const row = await keyRow(a.lr, 'x');
    expect(row.tokensThisMinute).toBeGreaterThanOrEqual(20);
    expect(row.available).toBe(false);
  });

  it('refuses a `client` that is not an ioredis client, naming the option', async () => {
    await expect(
      LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { stateStore: { backend: 'redis', client: { not: 'redis' } } }), { logger: recordingLogger().logger }),
    ).rejects.toThrow(/registry\.stateStore\.client: must be an ioredis Redis or Cluster instance/);
  });

  describe('leases', () => {
    it('never exceed maxConcurrent across workers under contention', async () => {
      const ns = uniqueNamespace('maxc');
      const stores = [store(ns), store(ns), store(ns), store(ns)];
      const entries = await Promise.all(stores.map(async (s) => (await s.sync([spec('k', { maxConcurrent: 3 })]))[0]));
      let holding = 0;
      let max = 0;
      let granted = 0;
      let refused = 0;
      await Promise.all(
        stores.flatMap((s, i) =>
          Array.from({ length: 8 }, async () => {
            for (let j = 0; j < 12; j++) {
              const l = await s.lease(entries[i], 30_000);
              if (l === null) {
                refused++;
                await sleep(1);
                continue;
              }
              granted++;
              holding++;
              max = Math.max(max, holding);
              await sleep(Math.floor(Math.random() * 4));
              holding--;
              await s.release(l);
            }
          }),
        ),
      );
      expect(max).toBeLessThanOrEqual(3);
      expect(max).toBe(3); // the limit was reached: there was contention
      expect(refused).toBeGreaterThan(0);
      expect(granted).toBeGreaterThan(3);
      await Promise.all(stores.map((s) => s.flush()));
      expect(await admin.zcard(`{${ns}}:l:k`)).toBe(0);
    });

    it('a lease held by a crashed worker expires and its slot comes back', async () => {
      const ns = uniqueNamespace('crash');
      // Killed whatever happens (afterEach), and a bounded wait: a failure never leaves it running or hangs the suite.
      const child = await LeaseChild.start(server.url, ns, 'k', 1, 1500);
      closers.push(() => child.kill());
      expect(child.took).toEqual({ token: expect.any(String), health: 'up' });
      const killedAt = Date.now();
      await child.kill();
      const s = store(ns);
      const [e] = await s.sync([spec('k', { maxConcurrent: 1 })]);
      expect(await s.lease(e, 30_000)).toBeNull(); // the dead worker's slot is still taken
      let lease = null;
      while (lease === null && Date.now() - killedAt < 10_000) {
        await sleep(100);
        lease = await s.lease(e, 30_000);
      }
      expect(lease).not.toBeNull(); // ...until its TTL ran out
    });

    it('a refused lease refreshes the mirror: leases in use and the soonest expiry, so a waiting caller knows when to look again', async () => {
      const ns = uniqueNamespace('refresh');
      const a = store(ns);
      const b = store(ns);
      const [ea] = await a.sync([spec('k', { maxConcurrent: 2 })]);
      const [eb] = await b.sync([spec('k', { maxConcurrent: 2 })]);
      const held = await Promise.all([a.lease(ea, 3000), a.lease(ea, 60_000)]);
      expect(held.every((l) => l !== null)).toBe(true);
      expect(eb.inFlight).toBe(0); // b has not heard of them yet
      expect(await b.lease(eb, 60_000)).toBeNull();
      expect(eb.inFlight).toBe(2);
      expect(Math.abs(eb.leaseMinExpiry - (held[0] as Lease).expiresAt)).toBeLessThan(1000);
      const now = Date.now();
      const at = availableAt(eb, now);
      expect(at).toBeGreaterThan(now);
      expect(at).toBeLessThanOrEqual(now + 50); // busy: looked at again soon (BUSY_RETRY_MS), not at the lease TTL
    });

    it('a lease on a key a reload removed is still freed in Redis', async () => {
      const ns = uniqueNamespace('removed');
      const s = store(ns);
      const [a] = await s.sync([spec('a', { maxConcurrent: 3 }), spec('b')]);
      const lease = (await s.lease(a, 60_000)) as Lease;
      await s.sync([spec('b')]);
      await s.release(lease);
      await s.flush();
      expect(await admin.zcard(`{${ns}}:l:a`)).toBe(0);
    });

    it('are fenced: a late release or report of an expired lease frees nobody else\'s slot', async () => {
      const ns = uniqueNamespace('fence');
      const a = store(ns);
      const b = store(ns);
      const [ea] = await a.sync([spec('k', { maxConcurrent: 1 })]);
      const [eb] = await b.sync([spec('k', { maxConcurrent: 1 })]);
      const late = await a.lease(ea, 300);
      expect(late).not.toBeNull();
      expect(await b.lease(eb, 30_000)).toBeNull();
      await sleep(450);
      const fresh = await b.lease(eb, 30_000); // a's lease expired: its slot came back
      expect(fresh).not.toBeNull();
      await a.release(late as NonNullable<typeof late>);
      await a.report(late as NonNullable<typeof late>, { kind: 'success' }, 0);
      await a.flush(); // both reached Redis
      expect(await b.lease(eb, 30_000)).toBeNull(); // b's lease still holds the only slot
      expect(await admin.zrange(`{${ns}}:l:k`, 0, -1)).toEqual([fresh?.token]);
      await b.release(fresh as NonNullable<typeof fresh>);
      await b.flush();
      expect(await admin.zcard(`{${ns}}:l:k`)).toBe(0);
    });
  });

  it('namespaces never see each other; every key carries its namespace as prefix and hash tag', async () => {
    await admin.flushall();
    const ns1 = uniqueNamespace('app1');
    const ns2 = uniqueNamespace('app2');
    fake.script('sk-ns-hot', 'rate_limit');
    const keys = [
      { keyId: 'hot', secret: 'sk-ns-hot', priority: 1, rateLimitRpm: 100 },
      { keyId: 'cold', secret: 'sk-ns-cold', maxConcurrent: 5 },
    ];
    const one = await engine(keys, ns1);
    const two = await engine(keys, ns2);
    expect((await one.lr.chat('gpt-4o-mini', HI)).attempts.map((x) => x.keyId)).toEqual(['hot', 'cold']);
    // Same key ids, other namespace: its own state, so it tries `hot` itself.
    expect((await two.lr.chat('gpt-4o-mini', HI)).attempts.map((x) => x.keyId)).toEqual(['hot', 'cold']);
    expect(fake.hits('sk-ns-hot')).toBe(2);
    expect((await keyRow(one.lr, 'hot')).state).toBe('COOLDOWN');
    const keysNow = await allKeys(server);
    expect(keysNow.length).toBeGreaterThan(0);
    const inNs1 = keysNow.filter((k) => k.startsWith(`{${ns1}}:`));
    const inNs2 = keysNow.filter((k) => k.startsWith(`{${ns2}}:`));
    expect(inNs1.length).toBeGreaterThan(0);
    expect(inNs2.length).toBeGreaterThan(0);
    expect(inNs1.length + inNs2.length).toBe(keysNow.length);
    // Nothing stored holds a secret.
    for (const k of keysNow) {
      const type = await admin.type(k);
      const dump = type === 'hash' ? JSON.stringify(await admin.hgetall(k)) : JSON.stringify(await admin.zrange(k, 0, -1));
      expect(`${k} ${dump}`).not.toMatch(/sk-ns-/);
    }
  });

  it('reload: removed keys stop being leased everywhere, added keys start ACTIVE, kept keys keep their state', async () => {
    const ns = uniqueNamespace('reload');
    fake.script('sk-rl-b', 'rate_limit');
    const abc: TestKey[] = [
      { keyId: 'a', secret: 'sk-rl-a', priority: 2 },
      { keyId: 'b', secret: 'sk-rl-b', priority: 3 },
      { keyId: 'c', secret: 'sk-rl-c', priority: 1 },
    ];
    const d: TestKey = { keyId: 'd', secret: 'sk-rl-d', priority: 0 };
    const one = await engine(abc, ns);
    const two = await engine(abc, ns);
    expect((await one.lr.chat('gpt-4o-mini', HI)).attempts.map((x) => x.keyId)).toEqual(['b', 'a']);
    const bBefore = await keyRow(one.lr, 'b');
    expect(bBefore.state).toBe('COOLDOWN');

    await one.lr.reload(makeOptions(fake.baseUrl, [abc[1], abc[2], d], storeOpts(ns)));
    const after = await one.lr.snapshot();
    expect(after.keys.map((k) => [k.keyId, k.state])).toEqual([
      ['b', 'COOLDOWN'],
      ['c', 'ACTIVE'],
      ['d', 'ACTIVE'],
    ]);
    expect(after.keys[0].until).toBe(bBefore.until);

    // The other worker still lists `a` (highest available priority) but never gets it again.
    const aHits = fake.hits('sk-rl-a');
    for (let i = 0; i < 3; i++) expect((await two.lr.chat('gpt-4o-mini', HI)).keyId).toBe('c');
    expect(fake.hits('sk-rl-a')).toBe(aHits);
    expect((await keyRow(two.lr, 'a')).state).toBe('DISABLED');
    expect((await keyRow(two.lr, 'b')).until).toBe(bBefore.until);

    // Added back by a reload: fresh and ACTIVE, and the other worker picks it up again.
    await one.lr.reload(makeOptions(fake.baseUrl, [...abc, d], storeOpts(ns)));
    expect((await keyRow(one.lr, 'a')).state).toBe('ACTIVE');
    expect((await keyRow(two.lr, 'a')).state).toBe('ACTIVE');
    expect((await two.lr.chat('gpt-4o-mini', HI)).keyId).toBe('a');
  });

  it('a reload that disables a key retires it for every worker', async () => {
    const ns = uniqueNamespace('disable');
    const keys: TestKey[] = [
      { keyId: 'p', secret: 'sk-dis-p', priority: 1 },
      { keyId: 'q', secret: 'sk-dis-q' },
    ];
    const one = await engine(keys, ns);
    const two = await engine(keys, ns);
    await one.lr.reload(makeOptions(fake.baseUrl, [{ ...keys[0], enabled: false }, keys[1]], storeOpts(ns)));
    expect((await two.lr.chat('gpt-4o-mini', HI)).keyId).toBe('q');
    expect((await keyRow(one.lr, 'p')).state).toBe('DISABLED');
  });
});
