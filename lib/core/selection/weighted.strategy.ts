import { availableAt } from '../store/availability';
import type { Candidate, CandidateList, SelectionStrategy } from './strategy.interfaces';

/** Random among the available keys in proportion to `weight` (a weight of 0 is picked only when nothing else is). */
export const weightedStrategy: SelectionStrategy = {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined, random: () => number): Candidate | undefined {
    const items = list.items;
    let total = 0;
    let fallback: Candidate | undefined;
    for (let i = 0; i < items.length; i++) {
      const c = items[i];
      if (availableAt(c.entry, now) !== 0 || (tried !== undefined && tried.has(c.entry.keyId))) continue;
      total += c.key.weight;
      fallback ??= c;
    }
    if (total <= 0) return fallback;
    let r = random() * total;
    for (let i = 0; i < items.length; i++) {
      const c = items[i];
      if (c.key.weight <= 0 || availableAt(c.entry, now) !== 0 || (tried !== undefined && tried.has(c.entry.keyId))) continue;
      r -= c.key.weight;
      if (r < 0) return c;
    }
    return fallback;
  },
};
