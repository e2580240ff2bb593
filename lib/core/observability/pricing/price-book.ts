import type { ProviderName, Usage } from '../../types';
import { DEFAULT_PRICES } from './default-prices';
import type { EstimatedCost, ModelPrice, PriceTable } from './price.interfaces';

const MAX_CACHED = 1024;

/**
 * Prices a call's tokens: the defaults merged with the user's `pricing`. A model id is looked up as given
 * (`provider:model` first), then normalized (OpenRouter's `vendor/` prefix, Gemini's `models/`, Bedrock's region
 * prefix and `-v1:0` suffix, a trailing date): never by a loose prefix, so `gpt-4o-mini` is never priced as `gpt-4o`.
 * Lookups are cached per (provider, model): the hot path pays one map read.
 */
export class PriceBook {
  private readonly table: PriceTable;
  private readonly resolved = new Map<string, ModelPrice | null>();

  constructor(user: PriceTable | undefined) {
    this.table = user === undefined ? DEFAULT_PRICES : { ...DEFAULT_PRICES, ...user };
  }

  priceOf(provider: ProviderName, model: string): ModelPrice | undefined {
    const id = `${provider}:${model}`;
    let p = this.resolved.get(id);
    if (p === undefined) {
      p = this.lookup(provider, model) ?? null;
      if (this.resolved.size >= MAX_CACHED) this.resolved.clear();
      this.resolved.set(id, p);
    }
    return p ?? undefined;
  }

  /** USD for `usage` (cached input at its own price when the provider reported it), or 'unknown' without a price. */
  cost(provider: ProviderName, model: string, usage: Usage): EstimatedCost {
    const p = this.priceOf(provider, model);
    if (p === undefined) return 'unknown';
    const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
    const usd = ((usage.inputTokens - cached) * p.inputPerMTok + cached * (p.cachedInputPerMTok ?? p.inputPerMTok) + usage.outputTokens * p.outputPerMTok) / 1e6;
    return Math.round(usd * 1e9) / 1e9;
  }

  private lookup(provider: ProviderName, model: string): ModelPrice | undefined {
    const t = this.table;
    const direct = t[`${provider}:${model}`] ?? t[model];
    if (direct !== undefined) return direct;
    for (const candidate of normalized(model)) {
      const p = t[`${provider}:${candidate}`] ?? t[candidate];
      if (p !== undefined) return p;
    }
    return undefined;
  }
}

/** The ids a model may be priced under, most specific first. */
function normalized(model: string): string[] {
  const out: string[] = [];
  let m = model;
  const push = (s: string): void => {
    if (s !== model && !out.includes(s)) out.push(s);
  };
  if (m.startsWith('models/')) push((m = m.slice('models/'.length)));
  // OpenRouter: vendor/model (and :variants such as :free, :beta).
  const slash = m.indexOf('/');
  if (slash > 0) push((m = m.slice(slash + 1)));
  const colonVariant = /^(.*?):(free|beta|extended|thinking|online|nitro|floor)$/.exec(m);
  if (colonVariant !== null) push((m = colonVariant[1]));
  // Bedrock: region inference profile (us./eu./apac./global.), version suffix (-v1:0), then the vendor prefix.
  const region = /^(?:us|eu|apac|us-gov|global|jp|au|ca)\.(.+)$/.exec(m);
  if (region !== null) push((m = region[1]));
  const version = /^(.*?)-v\d+(?::\d+)?$/.exec(m);
  if (version !== null) push((m = version[1]));
  push(m);
  const vendor = /^(?:anthropic|amazon|meta|mistral|cohere|ai21|deepseek|qwen|openai|writer)\.(.+)$/.exec(m);
  const bare = vendor !== null ? vendor[1] : m;
  // A trailing date: -20251001, -2024-08-06, @20240620 (Vertex), -latest.
  const undated = bare.replace(/(?:[-@]\d{8}|-\d{4}-\d{2}-\d{2}|-latest|-preview(?:-\d{2}-\d{2,4})?|-\d{3})$/, '');
  if (vendor !== null) {
    push(`${m.slice(0, m.length - bare.length)}${undated}`);
    push(bare);
  }
  push(undated);
  return out;
}
