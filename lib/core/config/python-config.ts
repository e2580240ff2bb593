import type { ProviderName } from '../types';
import type { LlmRotateOptions, StrategyName } from './options.interfaces';
import { validateOptions } from './validate';

/**
 * The original Python library's configuration dict (`configure(registry=…, use_keys=…, …)`, `configure_from_dict`,
 * a registry JSON/YAML file), typed. It is accepted as it is by every entry point (`forRoot`, `new LlmRotate`,
 * `reload`, a file path); {@link fromPythonConfig} gives its typed, validated camelCase form, so the camelCase
 * {@link LlmRotateOptions} type stays strict. README "The Python form" lists what maps to what and every
 * remaining difference.
 */
export interface PythonRegistryConfig {
  registry: PythonRegistry;
  use_keys: string[];
  strategy?: StrategyName;
  priorities?: Record<string, number>;
  /** `configure(fallback_chains=…)`; joins `registry.fallback_chains` (a chain may be defined in one place only). */
  fallback_chains?: PythonFallbackChains;
  /** Also accepted at the top level; `strategy` wins over `defaults.selection_strategy`. */
  defaults?: PythonDefaults;
  // Options of this port (no Python equivalent), in snake_case.
  lease_ttl_ms?: number;
  shutdown_timeout_ms?: number;
  log_usage?: boolean | 'debug' | 'verbose' | 'log';
}

/** The original's provider names: `aws_bedrock` is this port's `bedrock`. */
export type PythonProviderName = ProviderName | 'aws_bedrock';

export interface PythonRegistry {
  keys: PythonKeyConfig[];
  /** Overrides of the built-in provider catalog, only the fields you change. */
  providers?: Partial<Record<PythonProviderName, PythonProviderOverrides>>;
  defaults?: PythonDefaults;
  fallback_chains?: PythonFallbackChains;
  state_store?: PythonStateStore;
}

export interface PythonDefaults {
  selection_strategy?: StrategyName;
}

export interface PythonKeyConfig {
  key_id: string;
  provider: PythonProviderName;
  /** `env://NAME`, `file:///path` or `literal://value`. */
  secret_ref: string;
  models?: string[];
  /** Accepted, not needed: the auth scheme follows from the provider and the secret (a service-account JSON, …). */
  auth_method?: string;
  /**
   * Copied into `metadata`: Vertex `{ project, region }` (region is its location), Bedrock `{ region }`; Azure's
   * `azure_endpoint` is the key's base URL.
   */
  auth_config?: Record<string, unknown>;
  priority?: number;
  weight?: number;
  regions?: string[];
  tags?: string[];
  rate_limit_rpm?: number;
  rate_limit_tpm?: number;
  enabled?: boolean;
  metadata?: Record<string, unknown>;
  // This port's key options, in snake_case.
  max_concurrent?: number;
  base_url?: string;
}

export interface PythonProviderOverrides {
  cooldown_seconds?: number;
  quarantine_seconds?: number;
  max_consecutive_failures?: number;
  // This port's provider options, in snake_case.
  max_cooldown_seconds?: number;
  timeout_ms?: number;
  base_url?: string;
  headers?: Record<string, string>;
  api_version?: string;
  anthropic_version?: string;
  deployments?: Record<string, string>;
  project?: string;
  location?: string;
  region?: string;
}

/**
 * Keyed by a provider name (→ `{ provider, upstream? }`, the original's form) or, as this port adds, by a model name
 * (→ other model names).
 */
export type PythonFallbackChains = Record<string, Array<PythonFallbackTarget | string>>;

export interface PythonFallbackTarget {
  provider: PythonProviderName;
  upstream?: string;
}

export type PythonStateStore =
  | { backend: 'memory' }
  | { backend: 'redis'; redis_url?: string; redis_namespace?: string; command_timeout_ms?: number; cluster_nodes?: string[] };

/**
 * The typed path for the Python dict: validates it (a {@link ConfigurationError} names every problem) and returns
 * the camelCase options, ready for `LlmRotateModule.forRoot`, `new LlmRotate` or `reload`.
 */
export function fromPythonConfig(config: PythonRegistryConfig): LlmRotateOptions {
  return validateOptions(config);
}
