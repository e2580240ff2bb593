import type { ProviderName } from '../types';

/**
 * Which model ids a key with no `models` list serves: ids shaped like its provider's own
 * (`gpt-…` for OpenAI, `claude-…` for Anthropic, `vendor/model` for OpenRouter, …). An id shaped like no
 * provider's (an Azure deployment name, a fine-tune alias) is served by every key without a `models` list.
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
const ALL = Object.values(FAMILIES);

export function familyServes(provider: ProviderName, model: string): boolean {
  if (FAMILIES[provider].test(model)) return true;
  return !ALL.some((re) => re.test(model));
}
