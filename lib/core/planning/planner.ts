import type { FallbackTarget } from '../config/options.interfaces';
import type { KeyRuntime, ResolvedConfig } from '../config/resolved-config';
import { candidateList } from '../selection/candidate-list';
import type { Candidate, CandidateList } from '../selection/strategy.interfaces';
import type { KeyEntry } from '../store/store.interfaces';
import { PROVIDERS, type ProviderName } from '../types';
import { familyServes } from './model-families';

/** One step of a call's plan: the keys to try for one model id. */
export interface PlanStep {
  /** The model id sent to these keys' providers. */
  readonly model: string;
  readonly list: CandidateList;
}

const MAX_CACHED_PLANS = 512;

/**
 * Turns a requested model into the ordered steps of SPEC §2: the model's own keys, the provider fallbacks
 * of the providers serving it, then each fallback model (with its providers' fallbacks). Plans are cached
 * per (provider filter, model, fallback) so round-robin cursors persist and the hot path builds nothing.
 */
export class Planner {
  private readonly cache = new Map<string, readonly PlanStep[]>();
  private readonly lists = new Map<string, CandidateList>();
  private readonly candidates: readonly Candidate[];
  private readonly entries: ReadonlyMap<string, KeyEntry>;

  constructor(
    private readonly config: ResolvedConfig,
    entries: readonly KeyEntry[],
  ) {
    this.candidates = config.keys.map((key, i) => ({ key, entry: entries[i] }));
    this.entries = new Map(this.candidates.map((c) => [c.key.keyId, c.entry]));
  }

  plan(model: string, provider: ProviderName | undefined, fallback: boolean): readonly PlanStep[] {
    const cacheKey = `${provider ?? ''}\u0000${fallback ? 1 : 0}\u0000${model}`;
    let steps = this.cache.get(cacheKey);
    if (steps === undefined) {
      steps = this.build(model, provider, fallback);
      if (this.cache.size >= MAX_CACHED_PLANS) this.cache.clear();
      this.cache.set(cacheKey, steps);
    }
    return steps;
  }

  /** The store entry of a used key. */
  entryOf(keyId: string): KeyEntry | undefined {
    return this.entries.get(keyId);
  }

  /** The candidates of one provider that serve `model` (acquire()). */
  forProvider(provider: ProviderName, model: string | undefined): CandidateList {
    return this.list(`p\u0000${provider}\u0000${model ?? ''}`, (k) => k.provider === provider && (model === undefined || serves(k, model)));
  }

  private build(model: string, only: ProviderName | undefined, fallback: boolean): PlanStep[] {
    const steps: PlanStep[] = [];
    const seen = new Set<string>();
    const add = (m: string, provider: ProviderName | undefined, explicit: boolean): ProviderName[] => {
      const id = `${provider ?? '*'}\u0000${m}`;
      if (seen.has(id)) return [];
      seen.add(id);
      const list = this.list(`s\u0000${id}\u0000${explicit ? 1 : 0}`, (k) =>
        (provider === undefined || k.provider === provider) && (explicit ? servesExplicitly(k, m) : serves(k, m)),
      );
      if (list.items.length === 0) return [];
      steps.push({ model: m, list });
      return [...new Set(list.items.map((c) => c.key.provider))];
    };
    const addWithProviderFallbacks = (m: string, provider: ProviderName | undefined): void => {
      const providers = add(m, provider, false);
      if (!fallback) return;
      for (const p of providers) {
        for (const t of this.config.fallbacks[p] ?? []) {
          const target = asProviderTarget(t);
          if (target === undefined) continue;
          const upstreamModel = target.provider === 'openrouter' && target.upstream && !m.includes('/') ? `${target.upstream}/${m}` : m;
          add(upstreamModel, target.provider, true);
        }
      }
    };
    addWithProviderFallbacks(model, only);
    if (fallback) {
      for (const t of this.config.fallbacks[model] ?? []) {
        if (typeof t === 'string') {
          if (!isProvider(t)) addWithProviderFallbacks(t, undefined);
          else add(model, t, true);
        } else {
          add(t.provider === 'openrouter' && t.upstream && !model.includes('/') ? `${t.upstream}/${model}` : model, t.provider, true);
        }
      }
    }
    return steps;
  }

  private list(id: string, filter: (k: KeyRuntime) => boolean): CandidateList {
    let l = this.lists.get(id);
    if (l === undefined) {
      l = candidateList(this.candidates.filter((c) => filter(c.key)));
      if (this.lists.size >= MAX_CACHED_PLANS * 4) this.lists.clear();
      this.lists.set(id, l);
    }
    return l;
  }
}

function serves(k: KeyRuntime, model: string): boolean {
  return k.models === null ? familyServes(k.provider, model) : k.models.has(model);
}

/** A provider fallback names the provider explicitly: any of its keys without a `models` list serves the id. */
function servesExplicitly(k: KeyRuntime, model: string): boolean {
  return k.models === null || k.models.has(model);
}

function isProvider(s: string): s is ProviderName {
  return (PROVIDERS as readonly string[]).includes(s);
}

function asProviderTarget(t: FallbackTarget): { provider: ProviderName; upstream?: string } | undefined {
  if (typeof t === 'string') return isProvider(t) ? { provider: t } : undefined;
  return t;
}
