import { availableAt } from '../store/availability';
import type { Candidate, CandidateList, SelectionStrategy } from './strategy.interfaces';

/** The available key of highest priority; ties go to the least recently picked. */
export const priorityStrategy: SelectionStrategy = {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined): Candidate | undefined {
    let best: Candidate | undefined;
    const items = list.items;
    for (let i = 0; i < items.length; i++) {
      const c = items[i];
      if (availableAt(c.entry, now) !== 0 || (tried !== undefined && tried.has(c.entry.keyId))) continue;
      if (
        best === undefined ||
        c.key.priority > best.key.priority ||
        (c.key.priority === best.key.priority && c.entry.lastPicked < best.entry.lastPicked)
      ) {
        best = c;
      }
    }
    return best;
  },
};
