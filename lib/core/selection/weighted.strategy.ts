import { availableAt } from '../store/availability';
import type { Candidate, CandidateList, SelectionStrategy } from './strategy.interfaces';

/** Draws tried by rejection before the exact scan (keeps the common case O(log n) with 1,000 keys). */
const DRAWS = 8;

/**
 * Random among the available keys in proportion to `weight` (a weight of 0 is picked only when nothing else is).
 * Draws over all keys by weight and redraws when the drawn key is unavailable (rejection sampling: still exactly
 * proportional among the available ones); after a few misses, one exact pass over the available keys.
 */
export const weightedStrategy: SelectionStrategy = {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined, random: () => number): Candidate | undefined {
    const items = list.items;
    const cum = list.cumWeights;
    const total = cum.length > 0 ? cum[cum.length - 1] : 0;
    if (total > 0) {
      for (let d = 0; d < DRAWS; d++) {
        const c = items[upperBound(cum, random() * total)];
        if (c !== undefined && availableAt(c.entry, now) === 0 && (tried === undefined || !tried.has(c.entry.keyId))) return c;
      }
    }
    let sum = 0;
    let fallback: Candidate | undefined;
    for (let i = 0; i < items.length; i++) {
      const c = items[i];
      if (availableAt(c.entry, now) !== 0 || (tried !== undefined && tried.has(c.entry.keyId))) continue;
      sum += Math.max(0, c.key.weight);
      fallback ??= c;
    }
    if (sum <= 0) return fallback;
    let r = random() * sum;
    for (let i = 0; i < items.length; i++) {
      const c = items[i];
      if (c.key.weight <= 0 || availableAt(c.entry, now) !== 0 || (tried !== undefined && tried.has(c.entry.keyId))) continue;
      r -= c.key.weight;
      if (r < 0) return c;
    }
    return fallback;
  },
};

/** The first index whose running sum exceeds `x`. */
function upperBound(cum: Float64Array, x: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
