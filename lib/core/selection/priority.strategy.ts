import { availableAt } from '../store/availability';
import type { Candidate, CandidateList, SelectionStrategy } from './strategy.interfaces';

/** The available key of highest priority; keys of equal priority are taken in turn. */
export const priorityStrategy: SelectionStrategy = {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined): Candidate | undefined {
    for (const tier of list.priorityTiers) {
      const items = tier.items;
      const n = items.length;
      for (let step = 0; step < n; step++) {
        const i = (tier.cursor + step) % n;
        const c = items[i];
        if (availableAt(c.entry, now) !== 0 || (tried !== undefined && tried.has(c.entry.keyId))) continue;
        tier.cursor = (i + 1) % n;
        return c;
      }
    }
    return undefined;
  },
};
