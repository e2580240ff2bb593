import { availableAt } from '../store/availability';
import type { Candidate, CandidateList, SelectionStrategy } from './strategy.interfaces';

/** Each available key in turn, in registry order. */
export const roundRobinStrategy: SelectionStrategy = {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined): Candidate | undefined {
    const items = list.items;
    const n = items.length;
    for (let step = 0; step < n; step++) {
      const i = (list.cursor + step) % n;
      const c = items[i];
      if (availableAt(c.entry, now) !== 0 || (tried !== undefined && tried.has(c.entry.keyId))) continue;
      list.cursor = (i + 1) % n;
      return c;
    }
    return undefined;
  },
};
