import type { PriceTable } from './price.interfaces';

/**
 * When the default prices were taken from the vendors' public price lists (USD per million tokens, standard tier,
 * no batch discount, prompts ≤ 200K tokens). Prices change: override or extend them with the `pricing` option.
 */
export const DEFAULT_PRICES_TAKEN = '2026-06';

const OPENAI: PriceTable = {
  'gpt-5.5': { inputPerMTok: 5, cachedInputPerMTok: 0.5, outputPerMTok: 30 },
  'gpt-5.4': { inputPerMTok: 2.5, cachedInputPerMTok: 0.25, outputPerMTok: 15 },
  'gpt-5.4-mini': { inputPerMTok: 0.75, cachedInputPerMTok: 0.075, outputPerMTok: 4.5 },
  'gpt-5.4-nano': { inputPerMTok: 0.2, cachedInputPerMTok: 0.02, outputPerMTok: 1.25 },
  'gpt-5': { inputPerMTok: 1.25, cachedInputPerMTok: 0.125, outputPerMTok: 10 },
  'gpt-5-mini': { inputPerMTok: 0.25, cachedInputPerMTok: 0.025, outputPerMTok: 2 },
  'gpt-5-nano': { inputPerMTok: 0.05, cachedInputPerMTok: 0.005, outputPerMTok: 0.4 },
  'gpt-4.1': { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, cachedInputPerMTok: 0.1, outputPerMTok: 1.6 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, cachedInputPerMTok: 0.025, outputPerMTok: 0.4 },
  'gpt-4o': { inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-4o-mini': { inputPerMTok: 0.15, cachedInputPerMTok: 0.075, outputPerMTok: 0.6 },
  o3: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 },
  'o3-mini': { inputPerMTok: 1.1, cachedInputPerMTok: 0.55, outputPerMTok: 4.4 },
  'o4-mini': { inputPerMTok: 1.1, cachedInputPerMTok: 0.275, outputPerMTok: 4.4 },
  'text-embedding-3-small': { inputPerMTok: 0.02, outputPerMTok: 0 },
  'text-embedding-3-large': { inputPerMTok: 0.13, outputPerMTok: 0 },
};

const ANTHROPIC: PriceTable = {
  'claude-opus-4-6': { inputPerMTok: 5, cachedInputPerMTok: 0.5, outputPerMTok: 25 },
  'claude-opus-4-5': { inputPerMTok: 5, cachedInputPerMTok: 0.5, outputPerMTok: 25 },
  'claude-opus-4-1': { inputPerMTok: 15, cachedInputPerMTok: 1.5, outputPerMTok: 75 },
  'claude-opus-4': { inputPerMTok: 15, cachedInputPerMTok: 1.5, outputPerMTok: 75 },
  'claude-sonnet-4-6': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
  'claude-sonnet-4-5': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
  'claude-sonnet-4': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
  'claude-3-7-sonnet': { inputPerMTok: 3, cachedInputPerMTok: 0.3, outputPerMTok: 15 },
  'claude-haiku-4-5': { inputPerMTok: 1, cachedInputPerMTok: 0.1, outputPerMTok: 5 },
  'claude-3-5-haiku': { inputPerMTok: 0.8, cachedInputPerMTok: 0.08, outputPerMTok: 4 },
  'claude-3-haiku': { inputPerMTok: 0.25, cachedInputPerMTok: 0.03, outputPerMTok: 1.25 },
};

const GEMINI: PriceTable = {
  'gemini-2.5-pro': { inputPerMTok: 1.25, cachedInputPerMTok: 0.31, outputPerMTok: 10 },
  'gemini-2.5-flash': { inputPerMTok: 0.3, cachedInputPerMTok: 0.075, outputPerMTok: 2.5 },
  'gemini-2.5-flash-lite': { inputPerMTok: 0.1, cachedInputPerMTok: 0.025, outputPerMTok: 0.4 },
  'gemini-2.0-flash': { inputPerMTok: 0.1, cachedInputPerMTok: 0.025, outputPerMTok: 0.4 },
  'gemini-2.0-flash-lite': { inputPerMTok: 0.075, outputPerMTok: 0.3 },
};

/** Bedrock's own model ids (Anthropic models on Bedrock cost what they cost at Anthropic). */
const BEDROCK: PriceTable = {
  'amazon.nova-pro': { inputPerMTok: 0.8, outputPerMTok: 3.2 },
  'amazon.nova-lite': { inputPerMTok: 0.06, outputPerMTok: 0.24 },
  'amazon.nova-micro': { inputPerMTok: 0.035, outputPerMTok: 0.14 },
  'meta.llama3-1-8b-instruct': { inputPerMTok: 0.22, outputPerMTok: 0.22 },
  'meta.llama3-1-70b-instruct': { inputPerMTok: 0.72, outputPerMTok: 0.72 },
};

/**
 * Defaults for the common models of the seven providers. Azure OpenAI and OpenRouter (`openai/gpt-4o`) resolve to the
 * vendor's own entry; Bedrock ids (`anthropic.claude-3-haiku-20240307-v1:0`, `us.`/`eu.` inference profiles) to the
 * model's. Dated ids (`claude-haiku-4-5-20251001`, `gpt-4o-2024-08-06`) resolve to their family's price.
 */
export const DEFAULT_PRICES: PriceTable = { ...OPENAI, ...ANTHROPIC, ...GEMINI, ...BEDROCK };
