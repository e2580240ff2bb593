import type { KeyRuntime } from '../config/resolved-config';
import type { KeyEntry } from '../store/store.interfaces';

/** A key as strategies see it: its static config and its store entry (live state or mirror). */
export interface Candidate {
  readonly key: KeyRuntime;
  readonly entry: KeyEntry;
}

/** Candidates of equal static score, taken in turn from `cursor`. */
export interface Tier {
  readonly score: number;
  readonly items: readonly Candidate[];
  cursor: number;
}

/** The candidates of one plan step, with the strategies' static indexes and cursors (see candidate-list.ts). */
export interface CandidateList {
  readonly items: readonly Candidate[];
  /** round_robin's position. */
  cursor: number;
  /** health_aware: tiers of equal `100·priority + 10·weight`, best first. */
  readonly healthTiers: readonly Tier[];
  /** priority: tiers of equal priority, highest first. */
  readonly priorityTiers: readonly Tier[];
  /** weighted: running sums of the weights, in `items` order. */
  readonly cumWeights: Float64Array;
}

/**
 * Picks one available candidate, or undefined. Pure ranking over the entries: no I/O, no allocation.
 * `tried` holds keys this call already used (they are skipped).
 */
export interface SelectionStrategy {
  pick(list: CandidateList, now: number, tried: ReadonlySet<string> | undefined, random: () => number): Candidate | undefined;
}
