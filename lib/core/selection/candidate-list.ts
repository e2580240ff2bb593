import type { Candidate, CandidateList, Tier } from './strategy.interfaces';

/**
 * Builds a step's candidate list with the static indexes strategies use to pick in O(1) in the common case:
 * tiers of equal static score (descending) for `health_aware` and `priority`, and cumulative weights for
 * `weighted`. Built once per plan step and cached with the plan.
 */
export function candidateList(items: readonly Candidate[]): CandidateList {
  const cumWeights = new Float64Array(items.length);
  let total = 0;
  items.forEach((c, i) => {
    total += Math.max(0, c.key.weight);
    cumWeights[i] = total;
  });
  return {
    items,
    cursor: 0,
    healthTiers: tiers(items, staticScore),
    priorityTiers: tiers(items, (c) => c.key.priority),
    cumWeights,
  };
}

/** The part of the health_aware score that depends on configuration only. */
export function staticScore(c: Candidate): number {
  return 100 * c.key.priority + 10 * c.key.weight;
}

function tiers(items: readonly Candidate[], score: (c: Candidate) => number): Tier[] {
  const by = new Map<number, Candidate[]>();
  for (const c of items) {
    const s = score(c);
    let t = by.get(s);
    if (t === undefined) by.set(s, (t = []));
    t.push(c);
  }
  return [...by.entries()].sort((a, b) => b[0] - a[0]).map(([s, cs]) => ({ score: s, items: cs, cursor: 0 }));
}
