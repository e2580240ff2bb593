import { availableAt } from '../store/availability';
import type { Candidate, CandidateList, SelectionStrategy } from './strategy.interfaces';

/**
 * Default. Score = 100·priority + 10·weight − 25·consecutive failures − 50 on probation − in-flight leases;
 * the best available key wins, ties go to the least recently picked key (spreads load over equal keys).
 */
export const healthAwareStrategy: SelectionStrategy = {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined): Candidate | undefined {
    let best: Candidate | undefined;
    let bestScore = -Infinity;
    const items = list.items;
    for (let i = 0; i < items.length; i++) {
      const c = items[i];
      const e = c.entry;
      if (availableAt(e, now) !== 0 || (tried !== undefined && tried.has(e.keyId))) continue;
      const score =
        100 * c.key.priority +
        10 * c.key.weight -
        25 * e.consecutiveFailures -
        (e.state === 'ACTIVE' ? 0 : 50) -
        e.inFlight;
      if (score > bestScore || (score === bestScore && best !== undefined && e.lastPicked < best.entry.lastPicked)) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  },
};
