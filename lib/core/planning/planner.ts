import type { FallbackTarget } from '../config/options.interfaces';
import type { KeyRuntime, ResolvedConfig } from '../config/resolved-config';
import { candidateList } from '../selection/candidate-list';
import type { Candidate, CandidateList } from '../selection/strategy.interfaces';
import type { KeyEntry } from '../store/store.interfaces';
import { PROVIDERS, type ProviderName } from '../types';
import { familyServes, inferProviders } from './model-families';

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
    return this.list(`p\u0000${provider}\u0000${model ?? ''}`, (k) => k.provider === provider && (model === undefined || servesExplicitly(k, model)));
  }

  /**
   * The original's rules: a provider chain (`fallbacks` keyed by a provider) is walked only when the provider was
   * inferred from the model; a call that names `provider` tries only that provider's keys (its model-keyed fallbacks
   * included, on the same provider).
   */
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
    const chain = this.config.fallbacks[model] ?? [];
    if (only !== undefined) {
      add(model, only, true);
      if (!fallback) return steps;
      for (const t of chain) {
        if (typeof t === 'string' && !isProvider(t)) add(t, only, true);
      }
      return steps;
    }
    const withProviderChains = (m: string): void => {
      const providers = add(m, undefined, false);
      if (!fallback) return;
      for (const p of providers) {
        for (const t of this.config.fallbacks[p] ?? []) {
          const target = asProviderTarget(t);
          if (target !== undefined) add(upstreamModel(m, target), target.provider, true);
        }
      }
    };
    withProviderChains(model);
    if (fallback) {
      for (const t of chain) {
        if (typeof t === 'string' && !isProvider(t)) withProviderChains(t);
        else {
          const target = asProviderTarget(t) as { provider: ProviderName; upstream?: string };
          add(upstreamModel(model, target), target.provider, true);
        }
      }
    }
    return steps;
  }

  /** Why `plan()` found no key for `model` (for the error a call gets). */
  whyUnserved(model: string, only: ProviderName | undefined): string {
    if (only !== undefined) return `no used key of provider "${only}" serves it (list it in a key's \`models\`, or use a key without \`models\`)`;
    const inferred = inferProviders(model);
    if (inferred.length === 0) return 'no used key lists it in `models`, its provider cannot be inferred from its name, and it has no fallback chain';
    return `no used key serves it (its name looks like a model of ${inferred.join(' or ')}; list it in a key's \`models\`)`;
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

/** OpenRouter names a model `upstream/model`: a chain entry with `upstream` rewrites the id for it, nothing else. */
function upstreamModel(m: string, target: { provider: ProviderName; upstream?: string }): string {
  return target.provider === 'openrouter' && target.upstream && !m.includes('/') ? `${target.upstream}/${m}` : m;
}

function isProvider(s: string): s is ProviderName {
  return (PROVIDERS as readonly string[]).includes(s);
}

function asProviderTarget(t: FallbackTarget): { provider: ProviderName; upstream?: string } | undefined {
  if (typeof t === 'string') return isProvider(t) ? { provider: t } : undefined;
  return t;
}
