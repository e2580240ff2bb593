import Redis from 'ioredis';
import type { Outcome } from '../../../lib/core/health/health.interfaces';
import { transition } from '../../../lib/core/health/transitions';
import { defineScripts, type ScriptCommands } from '../../../lib/core/store/redis/redis.scripts';
import { RedisServer } from '../../support/redis-server';
import { CASE_SETTINGS, TRANSITION_CASES, type TransitionCase } from '../../support/transition-cases';

/** One table (test/support/transition-cases.ts), two implementations: the pure function and the Lua script. */

function outcomeAt(c: TransitionCase, now: number): Outcome {
  const o = c.outcome;
  if (o.kind === 'success') return o.cooldownIn === undefined ? { kind: 'success' } : { kind: 'success', cooldownUntil: now + o.cooldownIn };
  return o as Outcome;
}

describe('health transitions: pure transition() (memory store)', () => {
  const now = Date.UTC(2026, 0, 1);
  it.each(TRANSITION_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const until = c.before.untilIn === undefined ? 0 : now + c.before.untilIn;
    const next = transition({ state: c.before.state, until, consecutiveFailures: c.before.failures }, outcomeAt(c, now), now, CASE_SETTINGS);
    expect(next.state).toBe(c.after.state);
    expect(next.consecutiveFailures).toBe(c.after.failures);
    expect(next.until).toBe(c.after.until === 'same' ? until : c.after.until === 0 ? 0 : now + c.after.until);
  });
});

describe('health transitions: the Redis report script (Lua)', () => {
  let server: RedisServer;
  let client: Redis;
  let cmd: ScriptCommands;
  beforeAll(async () => {
    server = await RedisServer.start();
    client = server.client();
    cmd = defineScripts(client);
  });
  afterAll(async () => {
    await client?.quit();
    await server?.close();
  });

  const cases = TRANSITION_CASES.filter((c) => !c.memoryOnly);
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const sk = `{t}:s:case${i}`;
    const lk = `{t}:l:case${i}`;
    const [sec, usec] = await client.time();
    const t0 = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    const until = c.before.untilIn === undefined ? 0 : t0 + c.before.untilIn;
    await client.hset(sk, { s: c.before.state, u: until, f: c.before.failures });
    await client.zadd(lk, t0 + 60_000, 'tok');
    const o = c.outcome;
    // One BATCH call, one key (its settings), one report operation.
    const S = CASE_SETTINGS;
    const r = await cmd.llmrotateBatch(
      2,
      sk,
      lk,
      `0 0 0 ${S.cooldownMs} ${S.quarantineMs} ${S.maxConsecutiveFailures} ${S.maxBenchMs}`,
      `r 1 tok ${o.kind} ${o.kind === 'rate_limit' ? (o.retryAfterMs ?? 0) : 0} ${o.kind === 'success' ? (o.cooldownIn ?? 0) : 0} 0\n`,
    );
    // The reply carries the script's own `now` (Redis TIME), so "ms from now" is exact.
    const now = r[0] as number;
    expect(r[1]).toBe('1');
    const stored = await client.hgetall(sk);
    expect(stored.s).toBe(c.after.state);
    expect(Number(stored.f)).toBe(c.after.failures);
    expect(Number(stored.u)).toBe(c.after.until === 'same' ? until : c.after.until === 0 ? 0 : now + c.after.until);
    // The reply is the same row, and the lease was released in the same step.
    const row = String(r[2]).split(' ');
    expect([row[0], Number(row[1]), Number(row[2])]).toEqual([stored.s, Number(stored.u), Number(stored.f)]);
    expect(await client.zcard(lk)).toBe(0);
  });
});
