import type { ProviderName } from '../types';

/**
 * The provider a model id is inferred to belong to, from its shape (`gpt-…` for OpenAI and Azure, `claude-…` for
 * Anthropic, `vendor/model` for OpenRouter, …), as the original does. A key with no `models` list serves the ids
 * inferred to be its provider's; an id shaped like no provider's (an Azure deployment name, a fine-tune alias) is
 * served only by keys that list it, or by any key of the provider a call names explicitly.
 */
const FAMILIES: Readonly<Record<ProviderName, RegExp>> = {
  openai: /^(gpt-|o\d|chatgpt-|text-|ft:|davinci|babbage|omni-|codex-)/,
  azure_openai: /^(gpt-|o\d|chatgpt-|text-|davinci|babbage|omni-|codex-)/,
  openrouter: /^[\w.-]+\/[\w.:-]+/,
  anthropic: /^claude-/,
  google_ai_studio: /^(models\/)?(gemini-|gemma-|learnlm-)/,
  google_vertex: /^(models\/)?(gemini-|gemma-)/,
  bedrock: /^([a-z]{2,4}\.)?(anthropic|amazon|meta|mistral|cohere|ai21|deepseek|qwen|openai|writer|twelvelabs)\./,
};
const ENTRIES = Object.entries(FAMILIES) as Array<[ProviderName, RegExp]>;

/** Whether `model` is shaped like an id of `provider`. */
export function familyServes(provider: ProviderName, model: string): boolean {
  return FAMILIES[provider].test(model);
}

/** The providers `model` is inferred to belong to (empty: it cannot be inferred). */
export function inferProviders(model: string): ProviderName[] {
  return ENTRIES.filter(([, re]) => re.test(model)).map(([p]) => p);
}
