import type { ProviderName } from '../types';
import { AnthropicAdapter } from './anthropic/anthropic.adapter';
import { aiStudioEndpoint } from './gemini/ai-studio.endpoint';
import { GeminiAdapter } from './gemini/gemini.adapter';
import { VertexEndpoint } from './gemini/vertex.endpoint';
import { BedrockAdapter } from './bedrock/bedrock.adapter';
import { OpenAiCompatibleAdapter } from './openai/openai-compatible.adapter';
import type { ProviderAdapter } from './provider.interfaces';

/** One adapter per provider name. Adapters are stateless; auth helpers that need vendor libraries load lazily. */
export function createAdapters(): Partial<Record<ProviderName, ProviderAdapter>> {
  return {
    openai: new OpenAiCompatibleAdapter('openai'),
    openrouter: new OpenAiCompatibleAdapter('openrouter'),
    azure_openai: new OpenAiCompatibleAdapter('azure_openai'),
    bedrock: new BedrockAdapter(),
    google_ai_studio: new GeminiAdapter(aiStudioEndpoint),
    google_vertex: new GeminiAdapter(new VertexEndpoint()),
    anthropic: new AnthropicAdapter(),
  };
}
