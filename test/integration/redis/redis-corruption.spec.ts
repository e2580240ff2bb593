import type Redis from 'ioredis';
import type { Lease } from '../../../lib/core/store/store.interfaces';
import { OpenAiFake } from '../../fakes/openai-fake';
import type { TestKey } from '../../support/options';
import { RedisServer } from '../../support/redis-server';
import { eventually, HI, keyRow, redisEngine, redisStore, spec, TEST_HEALTH, uniqueNamespace } from '../../support/redis-store';

/**
 * Issue 8 items 13 and 3 (Redis side): whatever is stored in Redis — a key of the wrong type, an absurd number, a
 * refused command — stays that key's problem. It is repaired (or reported and served locally), the store stays
 * `up`, the other keys keep sharing state, and nothing overflows or throws.
 */
describe('Redis store: corrupted or refused data stays one key\'s problem', () => {
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
    while (closers.length > 0) await (closers.pop() as () => Promise<unknown>)().catch(() => undefined);
    await admin.config('SET', 'maxmemory', '0');
  });
  afterAll(async () => {
    await admin?.quit();
    await fake?.close();
    await server?.close();
  });

  function store(ns: string, url = server.url) {
    const s = redisStore({ redisUrl: url, redisNamespace: ns });
    closers.push(() => s.store.close());
    return s;
  }

  async function engine(keys: TestKey[], ns: string, url = server.url) {
    const e = await redisEngine(fake.baseUrl, keys, { redisUrl: url, redisNamespace: ns });
    closers.push(() => e.lr.close());
    return e;
  }

  async function redisNow(): Promise<number> {
    const [sec, usec] = await admin.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }

  describe('a Redis key of the wrong type (item 13)', () => {
    it('is reset, the warning names its key id, and the store stays up', async () => {
      const ns = uniqueNamespace('wrongtype');
      const { store: s, lines } = store(ns);
      const [hashGone, setGone, capped] = await s.sync([spec('hash-gone'), spec('set-gone'), spec('capped', { maxConcurrent: 2 })]);
      await admin.set(`{${ns}}:s:hash-gone`, 'not a hash'); // the state hash replaced by a string
      await admin.del(`{${ns}}:l:set-gone`);
      await admin.hset(`{${ns}}:l:set-gone`, 'not', 'a zset'); // the lease set replaced by a hash
      await admin.del(`{${ns}}:l:capped`);
      await admin.hset(`{${ns}}:l:capped`, 'not', 'a zset'); // ...on a key that counts its leases

      const leases = await Promise.all([s.lease(hashGone, 60_000), s.lease(setGone, 60_000), s.lease(capped, 60_000)]);
      expect(leases.every((l) => l !== null)).toBe(true);
      await s.report(leases[0] as Lease, { kind: 'rate_limit', retryAfterMs: 30_000 }, 0);
      await s.report(leases[1] as Lease, { kind: 'success' }, 0);
      await s.flush();
      expect(s.health()).toEqual({ backend: 'redis', status: 'up' });
      expect(await admin.type(`{${ns}}:s:hash-gone`)).toBe('hash');
      expect(await admin.hget(`{${ns}}:s:hash-gone`, 's')).toBe('COOLDOWN'); // the state after the repair is shared again
      expect(await admin.type(`{${ns}}:l:set-gone`)).not.toBe('hash');
      expect(await admin.zcard(`{${ns}}:l:capped`)).toBe(1); // the lease taken after the repair
      for (const id of ['hash-gone', 'set-gone', 'capped']) {
        expect(lines.some((l) => l.startsWith('warn') && l.includes(`key "${id}"`) && /wrong type/.test(l))).toBe(true);
      }
      expect((await s.snapshot()).map((r) => [r.keyId, r.state])).toEqual([
        ['hash-gone', 'COOLDOWN'],
        ['set-gone', 'ACTIVE'],
        ['capped', 'ACTIVE'],
      ]);
    });

    it('does not degrade the store: the other keys keep sharing state between workers', async () => {
      const ns = uniqueNamespace('isolated');
      fake.script('sk-iso-bad', 'server_error');
      fake.script('sk-iso-hot', 'rate_limit');
      const keys: TestKey[] = [
        { keyId: 'bad', secret: 'sk-iso-bad', priority: 3 },
        { keyId: 'hot', secret: 'sk-iso-hot', priority: 2 },
        { keyId: 'cold', secret: 'sk-iso-cold', priority: 1 },
      ];
      const one = await engine(keys, ns);
      const two = await engine(keys, ns);
      await admin.set(`{${ns}}:s:bad`, 'garbage');
      // One: bad (500) → hot (429) → cold. Two: bad (500) → cold, never hot: the 429 was shared.
      expect((await one.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['bad', 'hot', 'cold']);
      await one.store.flush();
      expect((await two.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['bad', 'cold']);
      expect(fake.hits('sk-iso-hot')).toBe(1);
      expect(one.lr.storeHealth().status).toBe('up');
      expect(two.lr.storeHealth().status).toBe('up');
      expect(one.lines.some((l) => l.includes('key "bad"'))).toBe(true);
      expect(JSON.stringify([one.lines, two.lines])).not.toMatch(/sk-iso-/);
    });

    it('a snapshot (SYNC) repairs it too and keeps the other keys\' state', async () => {
      const ns = uniqueNamespace('sync-repair');
      fake.script('sk-sr-hot', 'rate_limit');
      const { lr, lines } = await engine(
        [
          { keyId: 'hot', secret: 'sk-sr-hot', priority: 1 },
          { keyId: 'x', secret: 'sk-sr-x' },
        ],
        ns,
      );
      await lr.chat('gpt-4o-mini', HI);
      await admin.set(`{${ns}}:s:x`, 'garbage');
      const snap = await lr.snapshot();
      expect(snap.keys.map((k) => [k.keyId, k.state])).toEqual([
        ['hot', 'COOLDOWN'],
        ['x', 'ACTIVE'],
      ]);
      expect(lr.storeHealth().status).toBe('up');
      expect(lines.some((l) => l.includes('key "x"') && /wrong type/.test(l))).toBe(true);
    });
  });

  describe('a reply error is not an outage (item 13)', () => {
    it('writes refused (OOM): calls are served, the store stays up, and sharing resumes once Redis accepts writes', async () => {
      const ns = uniqueNamespace('oom');
      const keys: TestKey[] = [
        { keyId: 'hot', secret: 'sk-oom-hot', priority: 1 },
        { keyId: 'cold', secret: 'sk-oom-cold' },
      ];
      const one = await engine(keys, ns);
      const two = await engine(keys, ns);
      await admin.config('SET', 'maxmemory', '1'); // every write now fails: "OOM command not allowed"
      for (let i = 0; i < 3; i++) expect((await one.lr.chat('gpt-4o-mini', HI)).keyId).toBe('hot');
      await one.store.flush();
      expect(one.lr.storeHealth()).toEqual({ backend: 'redis', status: 'up' });
      expect(one.lines.some((l) => l.startsWith('warn') && l.includes('key "hot"') && /OOM/.test(l))).toBe(true);
      expect(one.lines.filter((l) => l.includes('key "hot"'))).toHaveLength(1); // once per fault, not per call
      await admin.config('SET', 'maxmemory', '0');
      fake.script('sk-oom-hot', 'rate_limit');
      expect((await one.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['hot', 'cold']);
      await one.store.flush();
      expect((await two.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['cold']);
    });

    it('a key Redis refuses outright (ACL) is served locally; the other keys are shared from start-up on', async () => {
      const ns = uniqueNamespace('acl');
      // A user that may touch every key of the namespace except those of `bad`.
      await admin.call('ACL', 'SETUSER', 'limited', 'on', '>pw-acl', `~{${ns}}:?:hot`, `~{${ns}}:?:cold`, '+@all');
      closers.push(() => admin.call('ACL', 'DELUSER', 'limited'));
      const url = `redis://limited:pw-acl@127.0.0.1:${server.port}`;
      fake.script('sk-acl-hot', 'rate_limit');
      const keys: TestKey[] = [
        { keyId: 'bad', secret: 'sk-acl-bad', priority: 3 },
        { keyId: 'hot', secret: 'sk-acl-hot', priority: 2 },
        { keyId: 'cold', secret: 'sk-acl-cold', priority: 1 },
      ];
      const one = await engine(keys, ns, url);
      const two = await engine(keys, ns, url);
      expect(one.lr.storeHealth()).toEqual({ backend: 'redis', status: 'up' });
      expect(one.lines.some((l) => l.includes('key "bad"') && /NOPERM|permission/i.test(l))).toBe(true);
      expect((await one.lr.chat('gpt-4o-mini', HI)).keyId).toBe('bad'); // served on local state
      // `bad` out of the way (an operator would fix its ACL; here: bench it locally in both workers).
      fake.script('sk-acl-bad', 'auth');
      expect((await one.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['bad', 'hot', 'cold']);
      await one.store.flush();
      expect((await two.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['bad', 'cold']);
      expect(fake.hits('sk-acl-hot')).toBe(1);
      expect(two.lr.storeHealth().status).toBe('up');
      expect(JSON.stringify([one.lines, two.lines])).not.toMatch(/pw-acl/);
    });
  });

  describe('waits and numbers that would overflow (item 3)', () => {
    it('a huge retry-after or cooldown is capped at maxBenchMs in Redis: the key stays COOLDOWN, never PROBATION', async () => {
      const ns = uniqueNamespace('cap');
      const { store: s } = store(ns);
      const ids = ['ra-1e15', 'ra-1e300', 'ra-inf', 'cd-1e300'];
      const entries = await s.sync(ids.map((id) => spec(id)));
      const outcomes = [
        { kind: 'rate_limit' as const, retryAfterMs: 1e15 },
        { kind: 'rate_limit' as const, retryAfterMs: 1e300 },
        { kind: 'rate_limit' as const, retryAfterMs: Infinity },
        { kind: 'success' as const, cooldownUntil: 1e300 },
      ];
      for (let i = 0; i < ids.length; i++) await s.report((await s.lease(entries[i], 60_000)) as Lease, outcomes[i], 0);
      await s.flush();
      const now = await redisNow();
      for (const id of ids) {
        const u = Number(await admin.hget(`{${ns}}:s:${id}`, 'u'));
        expect({ id, s: await admin.hget(`{${ns}}:s:${id}`, 's') }).toEqual({ id, s: 'COOLDOWN' });
        expect(u).toBeLessThanOrEqual(now + TEST_HEALTH.maxBenchMs);
        expect(u).toBeGreaterThan(now + TEST_HEALTH.maxBenchMs - 60_000);
      }
      const snap = await s.snapshot();
      for (const row of snap) {
        expect(row.state).toBe('COOLDOWN');
        expect(Date.parse(row.until as string)).toBeLessThanOrEqual(Date.now() + TEST_HEALTH.maxBenchMs + 5000);
      }
      for (const e of entries) expect(await s.lease(e, 60_000)).toBeNull();
    });

    it('retry-after: 1000000000 from an upstream benches the key for maxBenchMs at most, for every worker', async () => {
      const slow = await OpenAiFake.start({ rateLimitHeaders: { 'retry-after': '1000000000' } });
      closers.push(() => slow.close());
      const ns = uniqueNamespace('retry-after');
      slow.script('sk-huge-hot', 'rate_limit');
      const keys: TestKey[] = [
        { keyId: 'hot', secret: 'sk-huge-hot', priority: 1 },
        { keyId: 'cold', secret: 'sk-huge-cold' },
      ];
      const one = await redisEngine(slow.baseUrl, keys, { redisUrl: server.url, redisNamespace: ns });
      closers.push(() => one.lr.close());
      const two = await redisEngine(slow.baseUrl, keys, { redisUrl: server.url, redisNamespace: ns });
      closers.push(() => two.lr.close());
      expect((await one.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['hot', 'cold']);
      await one.store.flush();
      const row = await keyRow(two.lr, 'hot');
      expect(row.state).toBe('COOLDOWN');
      const maxBenchMs = one.lr.options.registry.providers?.openai?.maxCooldownSeconds ?? 3600;
      expect(Date.parse(row.until as string) - Date.now()).toBeLessThanOrEqual(maxBenchMs * 1000 + 5000);
      expect(Number(await admin.hget(`{${ns}}:s:hot`, 'u')) - (await redisNow())).toBeLessThanOrEqual(maxBenchMs * 1000);
    });

    it('whatever is hand-written in Redis, snapshot() never throws and no key reads as available when it is benched', async () => {
      const ns = uniqueNamespace('absurd');
      const { store: s } = store(ns);
      const rows: Array<[string, Record<string, string>, string]> = [
        ['u-1e300', { s: 'COOLDOWN', u: '1e300', f: '0' }, 'COOLDOWN'],
        ['u-inf', { s: 'QUARANTINE', u: 'inf', f: '2' }, 'QUARANTINE'],
        ['u-9e99999', { s: 'COOLDOWN', u: '9e99999' }, 'COOLDOWN'],
        ['u-nan', { s: 'COOLDOWN', u: 'nan' }, 'PROBATION'],
        ['u-neg', { s: 'COOLDOWN', u: '-5' }, 'PROBATION'],
        ['u-text', { s: 'COOLDOWN', u: 'soon' }, 'PROBATION'],
        ['s-weird', { s: 'EXPLODED', u: '1e300', f: 'many' }, 'ACTIVE'],
        ['window', { s: 'ACTIVE', ws: '1e400', wr: '-3', wt: 'x', f: '1e300' }, 'ACTIVE'],
      ];
      const entries = await s.sync(rows.map(([id]) => spec(id)));
      for (const [id, fields] of rows) {
        await admin.del(`{${ns}}:s:${id}`);
        await admin.hset(`{${ns}}:s:${id}`, fields);
      }
      const snap = await s.snapshot();
      expect(snap.map((r) => [r.keyId, r.state])).toEqual(rows.map(([id, , state]) => [id, state]));
      for (const r of snap) {
        if (r.until !== null) expect(Date.parse(r.until)).toBeLessThanOrEqual(Date.now() + TEST_HEALTH.maxBenchMs + 5000);
        expect(Number.isFinite(r.consecutiveFailures)).toBe(true);
        expect(Number.isFinite(r.requestsThisMinute) && Number.isFinite(r.tokensThisMinute)).toBe(true);
      }
      // Leasing agrees with what the snapshot shows.
      const leased = await Promise.all(entries.map((e) => s.lease(e, 60_000)));
      expect(leased.map((l) => l !== null)).toEqual(rows.map(([, , state]) => state === 'PROBATION' || state === 'ACTIVE'));
      expect(s.health().status).toBe('up');
      await eventually(async () => (await s.snapshot()).length === rows.length, 1000, 'a second snapshot');
    });
  });
});
