import type { ProviderName } from '../../types';
import type { CallSource } from '../observer.interfaces';

/**
 * Attribute names. The `gen_ai.*` ones follow the OpenTelemetry GenAI semantic conventions as they stand (the
 * client inference span of open-telemetry/semantic-conventions-genai; `gen_ai.provider.name` replaced the
 * deprecated `gen_ai.system`). `error.type` and `http.response.status_code` are the stable general ones.
 * `llm_rotate.*` are this library's own. No attribute ever holds a secret, a secretRef or a message body.
 */
export const ATTR = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  stream: 'gen_ai.request.stream',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  errorType: 'error.type',
  httpStatus: 'http.response.status_code',
  source: 'llm_rotate.source',
  ourProvider: 'llm_rotate.provider',
  keyId: 'llm_rotate.key_id',
  attempt: 'llm_rotate.attempt',
  attempts: 'llm_rotate.attempts',
  fallback: 'llm_rotate.fallback',
  outcome: 'llm_rotate.outcome',
  costUsd: 'llm_rotate.cost_usd',
  costUnknown: 'llm_rotate.cost_unknown',
  requestId: 'llm_rotate.request_id',
} as const;

/** `gen_ai.provider.name` of each provider: the semantic conventions' well-known values where there is one. */
export const SEMCONV_PROVIDER: Readonly<Record<ProviderName, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google_ai_studio: 'gcp.gemini',
  google_vertex: 'gcp.vertex_ai',
  openrouter: 'openrouter',
  azure_openai: 'azure.ai.openai',
  bedrock: 'aws.bedrock',
};

/** `gen_ai.operation.name` of a call: chat and stream are chat completions; acquire and fetch are not known to be. */
export function operationOf(source: CallSource): 'chat' | undefined {
  return source === 'chat' || source === 'stream' ? 'chat' : undefined;
}

/** The call span's name: `chat {model}` (the conventions' `{operation} {model}`), else `acquire {provider}` / `fetch {provider}`. */
export function callSpanName(source: CallSource, model: string, provider: ProviderName | undefined): string {
  if (operationOf(source) !== undefined) return model === '' ? 'chat' : `chat ${model}`;
  return provider === undefined ? source : `${source} ${provider}`;
}

/** An attempt span's name: `attempt {provider}/{model}` (or `attempt {provider}` without a model). */
export function attemptSpanName(provider: ProviderName, model: string): string {
  return model === '' ? `attempt ${provider}` : `attempt ${provider}/${model}`;
}
