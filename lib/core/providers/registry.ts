import type { ProviderName } from '../types';
import { OpenAiCompatibleAdapter } from './openai/openai-compatible.adapter';
import type { ProviderAdapter } from './provider.interfaces';

/** One adapter per provider name. Adapters are stateless; auth helpers that need vendor libraries load lazily. */
export function createAdapters(): Partial<Record<ProviderName, ProviderAdapter>> {
  return {
    openai: new OpenAiCompatibleAdapter('openai'),
    openrouter: new OpenAiCompatibleAdapter('openrouter'),
    azure_openai: new OpenAiCompatibleAdapter('azure_openai'),
  };
}
