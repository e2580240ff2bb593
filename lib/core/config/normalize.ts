import type { LlmRotateOptions } from './options.interfaces';

/**
 * Accepts the Python library's snake_case dict form (SPEC §2) and returns the camelCase form.
 * Only option *names* are converted; user data (keyIds, model names, metadata, headers) is left as it is.
 * `fallback_chains` is accepted for `fallbacks`. Unknown names are left for validation to report.
 * Always returns fresh objects down to each key, so callers may annotate them without touching the input.
 */
export function normalizeOptions(input: unknown): unknown {
  if (!isRecord(input)) return input;
  const out = renameFields(input, TOP);
  if (isRecord(out.registry)) {
    const reg = renameFields(out.registry, REGISTRY);
    if (Array.isArray(reg.keys)) reg.keys = reg.keys.map((k) => (isRecord(k) ? keyFields(k) : k));
    if (isRecord(reg.providers)) {
      const providers: Record<string, unknown> = {};
      for (const [name, p] of Object.entries(reg.providers)) providers[name] = isRecord(p) ? renameFields(p, PROVIDER) : p;
      reg.providers = providers;
    }
    if (isRecord(reg.stateStore)) reg.stateStore = renameFields(reg.stateStore, STORE);
    out.registry = reg;
  }
  return out as unknown as LlmRotateOptions;
}

const TOP: Record<string, string> = { use_keys: 'useKeys', lease_ttl_ms: 'leaseTtlMs' };
const REGISTRY: Record<string, string> = { state_store: 'stateStore', fallback_chains: 'fallbacks' };
const KEY: Record<string, string> = {
  key_id: 'keyId',
  secret_ref: 'secretRef',
  max_concurrent: 'maxConcurrent',
  rate_limit_rpm: 'rateLimitRpm',
  rate_limit_tpm: 'rateLimitTpm',
  base_url: 'baseUrl',
};
const PROVIDER: Record<string, string> = {
  cooldown_seconds: 'cooldownSeconds',
  quarantine_seconds: 'quarantineSeconds',
  max_consecutive_failures: 'maxConsecutiveFailures',
  timeout_ms: 'timeoutMs',
  base_url: 'baseUrl',
  api_version: 'apiVersion',
  anthropic_version: 'anthropicVersion',
};
const STORE: Record<string, string> = {
  redis_url: 'redisUrl',
  redis_namespace: 'redisNamespace',
  command_timeout_ms: 'commandTimeoutMs',
  cluster_nodes: 'clusterNodes',
};

/** A validated key hides `secretRef` (non-enumerable); copy it explicitly so validated options validate again. */
function keyFields(k: Record<string, unknown>): Record<string, unknown> {
  const out = renameFields(k, KEY);
  if (!('secretRef' in out) && 'secretRef' in k) out.secretRef = k.secretRef;
  return out;
}

function renameFields(src: Record<string, unknown>, names: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) out[names[k] ?? k] = v;
  return out;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
