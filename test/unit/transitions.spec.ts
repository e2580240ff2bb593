import type { HealthSettings, KeyHealth } from '../../lib/core/health/health.interfaces';
import { effectiveState, transition } from '../../lib/core/health/transitions';

const S: HealthSettings = { cooldownMs: 60_000, quarantineMs: 300_000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 };
const T = 1_000_000;
const h = (state: KeyHealth['state'], until = 0, consecutiveFailures = 0): KeyHealth => ({ state, until, consecutiveFailures });

describe('health state machine (SPEC §4)', () => {
  it('ACTIVE --rate limit--> COOLDOWN, retry-after wins over the default', () => {
    expect(transition(h('ACTIVE'), { kind: 'rate_limit' }, T, S)).toEqual(h('COOLDOWN', T + 60_000));
    expect(transition(h('ACTIVE'), { kind: 'rate_limit', retryAfterMs: 5000 }, T, S)).toEqual(h('COOLDOWN', T + 5000));
  });

  it('COOLDOWN --timer--> PROBATION --success--> ACTIVE', () => {
    const cooled = h('COOLDOWN', T + 10);
    expect(effectiveState(cooled, T + 9)).toBe('COOLDOWN');
    expect(effectiveState(cooled, T + 10)).toBe('PROBATION');
    expect(transition(cooled, { kind: 'success' }, T + 10, S)).toEqual(h('ACTIVE'));
  });

  it('PROBATION --failure--> QUARANTINE on the first failure; a rate limit on probation cools again', () => {
    // From 0 consecutive failures: only the probation rule (not maxConsecutiveFailures) can quarantine here.
    for (const probation of [h('QUARANTINE', T, 0), h('COOLDOWN', T - 1, 0)]) {
      expect(transition(probation, { kind: 'transient' }, T, S)).toEqual(h('QUARANTINE', T + 300_000, 1));
      expect(transition(probation, { kind: 'rate_limit' }, T, S)).toEqual(h('COOLDOWN', T + 60_000, 0));
    }
    // The same failure on an ACTIVE key only counts.
    expect(transition(h('ACTIVE'), { kind: 'transient' }, T, S)).toEqual(h('ACTIVE', 0, 1));
  });

  it('auth quarantines; N consecutive transient failures quarantine', () => {
    expect(transition(h('ACTIVE'), { kind: 'auth' }, T, S)).toEqual(h('QUARANTINE', T + 300_000, 1));
    let s = h('ACTIVE');
    s = transition(s, { kind: 'transient' }, T, S);
    s = transition(s, { kind: 'transient' }, T, S);
    expect(s).toEqual(h('ACTIVE', 0, 2));
    expect(transition(s, { kind: 'transient' }, T, S)).toEqual(h('QUARANTINE', T + 300_000, 3));
  });

  it('never shortens a bench; keeps the worse state', () => {
    expect(transition(h('COOLDOWN', T + 100_000), { kind: 'rate_limit', retryAfterMs: 1000 }, T, S)).toEqual(h('COOLDOWN', T + 100_000));
    expect(transition(h('COOLDOWN', T + 1000), { kind: 'rate_limit', retryAfterMs: 9000 }, T, S)).toEqual(h('COOLDOWN', T + 9000));
    expect(transition(h('QUARANTINE', T + 900_000), { kind: 'rate_limit' }, T, S)).toEqual(h('QUARANTINE', T + 900_000));
    expect(transition(h('QUARANTINE', T + 900_000, 1), { kind: 'auth' }, T, S)).toEqual(h('QUARANTINE', T + 900_000, 2));
    expect(transition(h('COOLDOWN', T + 900_000), { kind: 'auth' }, T, S)).toEqual(h('QUARANTINE', T + 900_000, 1));
  });

  it("the caller's fault and cancellations change nothing; DISABLED ignores everything", () => {
    const s = h('ACTIVE', 0, 2);
    expect(transition(s, { kind: 'bad_request' }, T, S)).toBe(s);
    expect(transition(s, { kind: 'cancelled' }, T, S)).toBe(s);
    const d = h('DISABLED');
    for (const kind of ['success', 'rate_limit', 'auth', 'transient'] as const) expect(transition(d, { kind }, T, S)).toBe(d);
  });

  it('a success carrying a spent-window signal cools until the reset', () => {
    expect(transition(h('ACTIVE'), { kind: 'success', cooldownUntil: T + 20_000 }, T, S)).toEqual(h('COOLDOWN', T + 20_000));
    expect(transition(h('ACTIVE'), { kind: 'success', cooldownUntil: T - 1 }, T, S)).toEqual(h('ACTIVE'));
  });

  it('every deadline is capped at now + maxBenchMs; within the cap the later deadline still wins', () => {
    const cap = T + S.maxBenchMs;
    expect(transition(h('ACTIVE'), { kind: 'rate_limit', retryAfterMs: 1e12 }, T, S)).toEqual(h('COOLDOWN', cap));
    expect(transition(h('ACTIVE'), { kind: 'rate_limit', retryAfterMs: Infinity }, T, S)).toEqual(h('COOLDOWN', cap));
    expect(transition(h('ACTIVE'), { kind: 'success', cooldownUntil: 8.64e15 + 1 }, T, S)).toEqual(h('COOLDOWN', cap));
    expect(transition(h('COOLDOWN', T + 1e12), { kind: 'rate_limit', retryAfterMs: 1000 }, T, S)).toEqual(h('COOLDOWN', cap));
    expect(transition(h('QUARANTINE', T + 1e12, 1), { kind: 'transient' }, T, S)).toEqual(h('QUARANTINE', cap, 2));
    expect(transition(h('COOLDOWN', T + 1e12, 2), { kind: 'success' }, T, S)).toEqual(h('COOLDOWN', cap, 0));
    // A corrupt stored deadline (NaN) never makes a bench endless.
    expect(transition(h('COOLDOWN', NaN), { kind: 'rate_limit', retryAfterMs: 1000 }, T, S)).toEqual(h('COOLDOWN', T + 1000));
    expect(transition(h('COOLDOWN', T + 3_000_000), { kind: 'rate_limit', retryAfterMs: 1000 }, T, S)).toEqual(h('COOLDOWN', T + 3_000_000));
    // A smaller cap (maxCooldownSeconds: 10) wins over the configured cooldown and quarantine.
    const small = { ...S, maxBenchMs: 10_000 };
    expect(transition(h('ACTIVE'), { kind: 'auth' }, T, small)).toEqual(h('QUARANTINE', T + 10_000, 1));
    expect(transition(h('ACTIVE'), { kind: 'rate_limit' }, T, small)).toEqual(h('COOLDOWN', T + 10_000));
  });

  it('a late success does not lift a running bench, but clears the failure count', () => {
    expect(transition(h('COOLDOWN', T + 5000, 2), { kind: 'success' }, T, S)).toEqual(h('COOLDOWN', T + 5000, 0));
  });
});
