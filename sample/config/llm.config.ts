import type { ConfigService } from '@nestjs/config';
import { pathToFileURL } from 'node:url';
import { loadOptionsFile, validateOptions, type FallbackTarget, type KeyOptions, type LlmRotateOptions, type ProviderName } from '../../lib';
import { DEMO_KEYS } from '../demo/demo-upstream';
import type { DemoUpstreamService } from '../demo/demo-upstream.service';

/**
 * Where the sample's keys come from, first match wins:
 * - `file`: `LLM_ROTATE_CONFIG` names a JSON/YAML registry file (camelCase or the Python snake_case form);
 * - `env`: real provider keys in the environment (see {@link ENV_KEYS});
 * - `demo`: nothing configured: a local demo upstream plays OpenAI with one rate-limited key and one working key.
 */
export type SampleMode = 'file' | 'env' | 'demo';

/**
 * One key per environment variable, referenced as `env://NAME` (resolved at call time, never copied into the
 * options). Only providers whose adapters ship in this version are listed.
 */
export const ENV_KEYS: ReadonlyArray<{ env: string; keyId: string; provider: ProviderName; file?: true }> = [
  { env: 'OPENAI_API_KEY', keyId: 'openai-1', provider: 'openai' },
  { env: 'OPENAI_API_KEY_2', keyId: 'openai-2', provider: 'openai' },
  { env: 'ANTHROPIC_API_KEY', keyId: 'anthropic-1', provider: 'anthropic' },
  { env: 'GEMINI_API_KEY', keyId: 'gemini-1', provider: 'google_ai_studio' },
  { env: 'OPENROUTER_API_KEY', keyId: 'openrouter-1', provider: 'openrouter' },
  // Azure needs its resource endpoint too (AZURE_OPENAI_ENDPOINT, below).
  { env: 'AZURE_OPENAI_API_KEY', keyId: 'azure-1', provider: 'azure_openai' },
  // A Bedrock API key, under the name AWS's own tools read; the region from AWS_REGION.
  { env: 'AWS_BEARER_TOKEN_BEDROCK', keyId: 'bedrock-1', provider: 'bedrock' },
  // A path to a service-account key file, as Google's own libraries read it: a file:// secretRef.
  { env: 'GOOGLE_APPLICATION_CREDENTIALS', keyId: 'vertex-1', provider: 'google_vertex', file: true },
];

/** Optional base URL overrides (proxies, gateways), named as the vendors' own SDKs name them. */
const BASE_URL_ENV: Partial<Record<ProviderName, string>> = {
  openai: 'OPENAI_BASE_URL',
  anthropic: 'ANTHROPIC_BASE_URL',
  google_ai_studio: 'GOOGLE_GEMINI_BASE_URL',
  openrouter: 'OPENROUTER_BASE_URL',
  azure_openai: 'AZURE_OPENAI_ENDPOINT',
  bedrock: 'BEDROCK_BASE_URL',
  google_vertex: 'VERTEX_BASE_URL',
};

/** The model `POST /chat` uses when the body names none and `LLM_MODEL` is not set. */
const DEFAULT_MODEL: Partial<Record<ProviderName, string>> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  google_ai_studio: 'gemini-2.5-flash',
  openrouter: 'openai/gpt-4o-mini',
  azure_openai: 'gpt-4o-mini',
  bedrock: 'anthropic.claude-3-haiku-20240307-v1:0',
  google_vertex: 'gemini-2.5-flash',
};
const FALLBACK_MODEL = 'gpt-4o-mini';

export function sampleMode(config: ConfigService): SampleMode {
  if (nonEmpty(config, 'LLM_ROTATE_CONFIG')) return 'file';
  return envKeys(config).length > 0 ? 'env' : 'demo';
}

/** `LLM_MODEL`, else the usual small model of the first provider with a key in the environment. */
export function defaultModel(config: ConfigService): string {
  const explicit = nonEmpty(config, 'LLM_MODEL');
  if (explicit !== undefined) return explicit;
  if (sampleMode(config) !== 'env') return FALLBACK_MODEL;
  return DEFAULT_MODEL[envKeys(config)[0].provider] ?? FALLBACK_MODEL;
}

/**
 * The `useFactory` of `LlmRotateModule.forRootAsync`: builds the options from the environment. `LLM_STRATEGY`,
 * `REDIS_URL` and `LLM_LOG_USAGE` apply in every mode. The environment and a registry file are untyped input, so
 * they go through `validateOptions()`: a typo (`LLM_STRATEGY=fastest`) stops the start with the problem named by
 * path, and what the module gets is typed `LlmRotateOptions` (camelCase, also from the Python snake_case form).
 */
export async function llmRotateOptions(config: ConfigService, demo: DemoUpstreamService): Promise<LlmRotateOptions> {
  const options = await baseOptions(config, demo);
  const strategy = nonEmpty(config, 'LLM_STRATEGY');
  if (strategy !== undefined) options.strategy = strategy;
  const redisUrl = nonEmpty(config, 'REDIS_URL');
  if (redisUrl !== undefined) {
    // The options may be a registry file's snake_case form (`state_store`) as well as camelCase.
    const { state_store: _snake, stateStore: _camel, ...registry } = isRecord(options.registry) ? options.registry : {};
    options.registry = { ...registry, stateStore: { backend: 'redis', redisUrl } };
  }
  // The engine's own usage log line (off by default); when on, the sample's UsageLogger stays quiet.
  const logUsage = nonEmpty(config, 'LLM_LOG_USAGE');
  if (logUsage !== undefined) options.logUsage = logUsage === 'true' ? true : logUsage === 'false' ? false : logUsage;
  return validateOptions(options);
}

async function baseOptions(config: ConfigService, demo: DemoUpstreamService): Promise<Record<string, unknown>> {
  switch (sampleMode(config)) {
    case 'file':
      // Read as is (camelCase or the Python library's snake_case form); validated with the rest, above.
      return loadOptionsFile(nonEmpty(config, 'LLM_ROTATE_CONFIG') as string);
    case 'env':
      return { ...fromEnvironment(config) };
    case 'demo':
      return { ...demoOptions((await demo.start()).baseUrl) };
  }
}

function fromEnvironment(config: ConfigService): LlmRotateOptions {
  const found = envKeys(config);
  const keys: KeyOptions[] = found.map(({ env, keyId, provider, file }) => ({
    keyId,
    provider,
    secretRef: file ? pathToFileURL(nonEmpty(config, env) as string).href : `env://${env}`,
  }));
  const providers: NonNullable<LlmRotateOptions['registry']['providers']> = {};
  for (const p of new Set(found.map((k) => k.provider))) {
    const name = BASE_URL_ENV[p];
    const baseUrl = name === undefined ? undefined : nonEmpty(config, name);
    if (baseUrl !== undefined) providers[p] = { baseUrl };
  }
  const region = nonEmpty(config, 'AWS_REGION');
  if (region !== undefined) providers.bedrock = { ...providers.bedrock, region };
  const location = nonEmpty(config, 'GOOGLE_CLOUD_LOCATION');
  if (location !== undefined) providers.google_vertex = { ...providers.google_vertex, location };
  const fallbacks: Record<string, FallbackTarget[]> = {};
  // OpenRouter serves OpenAI's models too (as `openai/<model>`): when OpenAI's keys are spent, go there.
  if (found.some((k) => k.provider === 'openai') && found.some((k) => k.provider === 'openrouter')) {
    fallbacks.openai = [{ provider: 'openrouter', upstream: 'openai' }];
  }
  return { registry: { keys, providers, fallbacks }, useKeys: keys.map((k) => k.keyId) };
}

/** Two OpenAI keys on the local demo upstream; the rate-limited one has the higher priority, so it is tried first. */
export function demoOptions(baseUrl: string): LlmRotateOptions {
  return {
    registry: {
      keys: [
        { keyId: DEMO_KEYS.limited.keyId, provider: 'openai', secretRef: `env://${DEMO_KEYS.limited.env}`, priority: 10 },
        { keyId: DEMO_KEYS.ok.keyId, provider: 'openai', secretRef: `env://${DEMO_KEYS.ok.env}`, priority: 0 },
      ],
      providers: { openai: { baseUrl, timeoutMs: 10_000 } },
    },
    useKeys: [DEMO_KEYS.limited.keyId, DEMO_KEYS.ok.keyId],
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function envKeys(config: ConfigService): typeof ENV_KEYS {
  return ENV_KEYS.filter((k) => nonEmpty(config, k.env) !== undefined);
}

function nonEmpty(config: ConfigService, name: string): string | undefined {
  const v = config.get<string>(name);
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}
