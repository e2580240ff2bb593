import type { KeyRuntime } from '../../lib/core/config/resolved-config';
import { candidateList } from '../../lib/core/selection/candidate-list';
import { healthAwareStrategy } from '../../lib/core/selection/health-aware.strategy';
import { priorityStrategy } from '../../lib/core/selection/priority.strategy';
import { roundRobinStrategy } from '../../lib/core/selection/round-robin.strategy';
import type { Candidate, CandidateList } from '../../lib/core/selection/strategy.interfaces';
import { weightedStrategy } from '../../lib/core/selection/weighted.strategy';
import type { KeyEntry } from '../../lib/core/store/store.interfaces';

const NOW = 1_000_000;

function cand(keyId: string, o: { priority?: number; weight?: number } & Partial<KeyEntry> = {}): Candidate {
  const { priority = 0, weight = 1, ...entry } = o;
  const spec = { keyId, enabled: true, maxConcurrent: 0, rateLimitRpm: 0, rateLimitTpm: 0, health: { cooldownMs: 1, quarantineMs: 1, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 } };
  return {
    key: { keyId, priority, weight } as KeyRuntime,
    entry: { keyId, spec, state: 'ACTIVE', until: 0, consecutiveFailures: 0, inFlight: 0, leaseMinExpiry: Infinity, windowStart: 0, windowRequests: 0, windowTokens: 0, blockedUntil: 0, ...entry },
  };
}
const ids = (list: CandidateList, n: number, pick: (l: CandidateList) => Candidate | undefined) => Array.from({ length: n }, () => pick(list)?.key.keyId);

describe('selection strategies', () => {
  it('health_aware: best score wins; penalties can let a lower tier win; equal keys take turns', () => {
    const l = candidateList([cand('hi-failing', { priority: 1, consecutiveFailures: 5 }), cand('lo-a'), cand('lo-b')]);
    // hi-failing: 110 − 125 = −15 < lo: 10
    expect(ids(l, 4, (x) => healthAwareStrategy.pick(x, NOW, undefined, Math.random))).toEqual(['lo-a', 'lo-b', 'lo-a', 'lo-b']);
    const l2 = candidateList([cand('hi-probation', { priority: 1, state: 'QUARANTINE', until: NOW - 1 }), cand('lo')]);
    expect(healthAwareStrategy.pick(l2, NOW, undefined, Math.random)?.key.keyId).toBe('hi-probation'); // 110 − 50 > 10
    const busy = candidateList([cand('a', { inFlight: 3 }), cand('b', { inFlight: 1 }), cand('c', { inFlight: 2 })]);
    expect(healthAwareStrategy.pick(busy, NOW, undefined, Math.random)?.key.keyId).toBe('b');
  });

  it('every strategy skips unavailable and tried keys and returns undefined when none is left', () => {
    const mk = () =>
      candidateList([
        cand('cooling', { state: 'COOLDOWN', until: NOW + 1 }),
        cand('off', { state: 'DISABLED' }),
        cand('full', { inFlight: 1, leaseMinExpiry: NOW + 10, spec: { keyId: 'full', enabled: true, maxConcurrent: 1, rateLimitRpm: 0, rateLimitTpm: 0, health: { cooldownMs: 1, quarantineMs: 1, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 } } }),
        cand('tried'),
        cand('ok'),
      ]);
    const tried = new Set(['tried']);
    for (const s of [healthAwareStrategy, roundRobinStrategy, priorityStrategy, weightedStrategy]) {
      const l = mk();
      expect(ids(l, 3, (x) => s.pick(x, NOW, tried, Math.random))).toEqual(['ok', 'ok', 'ok']);
      expect(s.pick(l, NOW, new Set(['tried', 'ok']), Math.random)).toBeUndefined();
    }
  });

  it('at the documented bounds (priority ±1e6, weight 1e6) every score stays finite and a healthy key is chosen', () => {
    const low = cand('lowest', { priority: -1_000_000, weight: 0, consecutiveFailures: 2 });
    for (const s of [healthAwareStrategy, priorityStrategy, weightedStrategy, roundRobinStrategy]) {
      expect(s.pick(candidateList([low]), NOW, undefined, () => 0.5)?.key.keyId).toBe('lowest');
    }
    const l = candidateList([low, cand('highest', { priority: 1_000_000, weight: 1_000_000 })]);
    expect(l.healthTiers.every((t) => Number.isFinite(t.score))).toBe(true);
    expect(healthAwareStrategy.pick(l, NOW, undefined, Math.random)?.key.keyId).toBe('highest');
    expect(healthAwareStrategy.pick(l, NOW, new Set(['highest']), Math.random)?.key.keyId).toBe('lowest');
  });

  it('priority: the highest available priority; equal priorities take turns', () => {
    const l = candidateList([cand('a', { priority: 1 }), cand('b', { priority: 5 }), cand('c', { priority: 5 })]);
    expect(ids(l, 4, (x) => priorityStrategy.pick(x, NOW, undefined, Math.random))).toEqual(['b', 'c', 'b', 'c']);
    expect(priorityStrategy.pick(l, NOW, new Set(['b', 'c']), Math.random)?.key.keyId).toBe('a');
  });

  it('weighted: proportional to weight among available keys, also when draws hit unavailable keys', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const l = candidateList([cand('w1', { weight: 1 }), cand('w3', { weight: 3 }), cand('big-cooling', { weight: 100, state: 'COOLDOWN', until: NOW + 1 })]);
    const n = 20_000;
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const id = weightedStrategy.pick(l, NOW, undefined, rnd)?.key.keyId as string;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    expect(counts['big-cooling']).toBeUndefined();
    expect(counts.w3 / n).toBeGreaterThan(0.72);
    expect(counts.w3 / n).toBeLessThan(0.78);
    const zero = candidateList([cand('z', { weight: 0 })]);
    expect(weightedStrategy.pick(zero, NOW, undefined, rnd)?.key.keyId).toBe('z');
  });
});
