import { availableAt } from '../store/availability';
import type { Candidate, CandidateList, SelectionStrategy } from './strategy.interfaces';

/**
 * Default. Score = 100·priority + 10·weight − 25·consecutive failures − 50 off ACTIVE (probation) − in-flight leases;
 * the best available key wins, and keys of equal score are taken in turn (the load spreads over equal keys).
 *
 * Penalties only lower a key's static score (100·priority + 10·weight), so the tiers of equal static score are
 * scanned best first, each from its own cursor: the first available key without penalty in the best tier wins at
 * once (the common case, O(1)), and a tier whose static score cannot beat the best found is never looked at.
 */
export const healthAwareStrategy: SelectionStrategy = {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined): Candidate | undefined {
    let best: Candidate | undefined;
    let bestScore = -Infinity;
    let bestTier = -1;
    let bestIndex = 0;
    const tiers = list.healthTiers;
    for (let t = 0; t < tiers.length; t++) {
      const tier = tiers[t];
      if (tier.score <= bestScore) break;
      const items = tier.items;
      const n = items.length;
      for (let step = 0; step < n; step++) {
        const i = (tier.cursor + step) % n;
        const c = items[i];
        const e = c.entry;
        if (availableAt(e, now) !== 0 || (tried !== undefined && tried.has(e.keyId))) continue;
        const penalty = 25 * e.consecutiveFailures + (e.state === 'ACTIVE' ? 0 : 50) + e.inFlight;
        if (penalty === 0) {
          tier.cursor = (i + 1) % n;
          return c;
        }
        if (tier.score - penalty > bestScore) {
          best = c;
          bestScore = tier.score - penalty;
          bestTier = t;
          bestIndex = i;
        }
      }
    }
    if (best !== undefined) {
      const tier = tiers[bestTier];
      tier.cursor = (bestIndex + 1) % tier.items.length;
    }
    return best;
  },
};
