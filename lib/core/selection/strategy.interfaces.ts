import type { KeyRuntime } from '../config/resolved-config';
import type { KeyEntry } from '../store/store.interfaces';

/** A key as strategies see it: its static config and its store entry (live state or mirror). */
export interface Candidate {
  readonly key: KeyRuntime;
  readonly entry: KeyEntry;
}

/** The candidates of one plan step, with the strategy's own cursor (round robin). */
export interface CandidateList {
  readonly items: readonly Candidate[];
  cursor: number;
}

/**
 * Picks one available candidate, or undefined. Pure ranking over the entries: no I/O, no allocation.
 * `tried` holds keys this call already used (they are skipped).
 */
export interface SelectionStrategy {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined, random: () => number): Candidate | undefined;
}
