import { STRATEGIES } from './options.interfaces';
import { at } from './paths';

/**
 * Accepts the Python library's snake_case dict form (SPEC §2, README "The Python form") and returns the camelCase
 * form. Option *names* are converted; user data (keyIds, model names, metadata, headers) is left as it is. The
 * Python registry's own shapes are mapped too: `fallback_chains` (in the registry or at the top level),
 * `defaults.selection_strategy`, the provider name `aws_bedrock`, and a key's `auth_method` / `auth_config`.
 *
 * Problems only this step can see (the same option given twice as `key_id` and `keyId`, a bad `auth_config`, …) are
 * pushed to `problems`, each naming its path; everything else is left for validation. Always returns fresh objects
 * down to each key, so callers may annotate them without touching the input.
 */
export function normalizeOptions(input: unknown, problems: string[] = []): unknown {
  if (!isRecord(input)) return input;
  const out = renameFields(input, TOP, '', problems);
  const topChains = out.fallbackChains;
  const topDefaults = out.defaults;
  delete out.fallbackChains;
  delete out.defaults;
  if (isRecord(out.registry)) {
    const reg = renameFields(out.registry, REGISTRY, 'registry', problems);
    if (Array.isArray(reg.keys)) reg.keys = reg.keys.map((k, i) => (isRecord(k) ? keyFields(k, `registry.keys[${i}]`, problems) : k));
    if (isRecord(reg.providers)) reg.providers = providerMap(reg.providers, problems);
    if (isRecord(reg.stateStore)) reg.stateStore = renameFields(reg.stateStore, STORE, 'registry.stateStore', problems);
    if (isRecord(reg.fallbacks)) reg.fallbacks = fallbackMap(reg.fallbacks);
    if (topChains !== undefined) mergeTopChains(reg, topChains, problems);
    applyDefaults(out, reg.defaults, 'registry.defaults', problems);
    delete reg.defaults;
    out.registry = reg;
  } else if (topChains !== undefined) {
    problems.push('fallback_chains: needs a registry to apply to');
  }
  applyDefaults(out, topDefaults, 'defaults', problems);
  return out;
}

/** The Python provider name of Bedrock; the same provider as `bedrock`. */
export const PROVIDER_ALIASES: Readonly<Record<string, string>> = { aws_bedrock: 'bedrock' };

const TOP: Record<string, string> = {
  use_keys: 'useKeys',
  lease_ttl_ms: 'leaseTtlMs',
  shutdown_timeout_ms: 'shutdownTimeoutMs',
  log_usage: 'logUsage',
  fallback_chains: 'fallbackChains',
};
const REGISTRY: Record<string, string> = { state_store: 'stateStore', fallback_chains: 'fallbacks' };
const KEY: Record<string, string> = {
  key_id: 'keyId',
  secret_ref: 'secretRef',
  max_concurrent: 'maxConcurrent',
  rate_limit_rpm: 'rateLimitRpm',
  rate_limit_tpm: 'rateLimitTpm',
  base_url: 'baseUrl',
  auth_method: 'authMethod',
  auth_config: 'authConfig',
};
const PROVIDER: Record<string, string> = {
  cooldown_seconds: 'cooldownSeconds',
  quarantine_seconds: 'quarantineSeconds',
  max_cooldown_seconds: 'maxCooldownSeconds',
  max_consecutive_failures: 'maxConsecutiveFailures',
  timeout_ms: 'timeoutMs',
  // Stream limits of the h1-streams branch (their DTO fields land with it).
  first_token_timeout_ms: 'firstTokenTimeoutMs',
  max_event_bytes: 'maxEventBytes',
  max_response_bytes: 'maxResponseBytes',
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

function keyFields(k: Record<string, unknown>, path: string, problems: string[]): Record<string, unknown> {
  const out = renameFields(k, KEY, path, problems);
  // A validated key hides `secretRef` (a non-enumerable accessor); copy it so validated options validate again.
  if (!('secretRef' in out) && 'secretRef' in k) out.secretRef = k.secretRef;
  if (typeof out.provider === 'string' && hasOwn(PROVIDER_ALIASES, out.provider)) out.provider = PROVIDER_ALIASES[out.provider];
  const authMethod = out.authMethod;
  const authConfig = out.authConfig;
  delete out.authMethod;
  delete out.authConfig;
  // The auth scheme follows from the provider and the secret's shape here (SPEC §6): accepted, not needed.
  if (authMethod !== undefined && (typeof authMethod !== 'string' || authMethod.length === 0)) {
    problems.push(`${path}.auth_method: must be a non-empty string`);
  }
  if (authConfig !== undefined) applyAuthConfig(out, authConfig, path, problems);
  return out;
}

/**
 * The original's per-key `auth_config` (Vertex `{ project, region }`, Azure `{ azure_endpoint }`, Bedrock
 * `{ region }`): every entry is copied into `metadata` (handed back on `AcquireContext.metadata`), where the
 * adapters read `project`, `location` and `region`; Vertex's `region` is also its `location`, and Azure's
 * `azure_endpoint` is the key's `baseUrl`. An entry contradicting `metadata` or `base_url` is a problem.
 */
function applyAuthConfig(out: Record<string, unknown>, ac: unknown, path: string, problems: string[]): void {
  const at = `${path}.auth_config`;
  if (!isRecord(ac)) {
    problems.push(`${at}: must be an object`);
    return;
  }
  if (out.metadata !== undefined && !isRecord(out.metadata)) return; // validation reports the metadata
  const meta: Record<string, unknown> = { ...(out.metadata as Record<string, unknown> | undefined) };
  const put = (name: string, value: unknown, from: string): void => {
    if (hasOwn(meta, name) && meta[name] !== value) problems.push(`${at}.${from}: contradicts metadata.${name} (give it once)`);
    else setOwn(meta, name, value);
  };
  for (const [name, value] of Object.entries(ac)) {
    put(name, value, name);
    if (out.provider === 'google_vertex' && name === 'region' && !hasOwn(ac, 'location')) put('location', value, name);
    if (out.provider === 'azure_openai' && name === 'azure_endpoint') {
      if (out.baseUrl !== undefined && out.baseUrl !== value) problems.push(`${at}.azure_endpoint: contradicts base_url (give it once)`);
      else out.baseUrl = value;
    }
  }
  out.metadata = meta;
}

function providerMap(providers: Record<string, unknown>, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [given, p] of Object.entries(providers)) {
    const name = hasOwn(PROVIDER_ALIASES, given) ? PROVIDER_ALIASES[given] : given;
    if (hasOwn(out, name)) {
      problems.push(`${at('registry.providers', given)}: the same provider as ${at('registry.providers', from[name])} (give it once)`);
      continue;
    }
    setOwn(from, name, given);
    setOwn(out, name, isRecord(p) ? renameFields(p, PROVIDER, at('registry.providers', given), problems) : p);
  }
  return out;
}

/** Chains keyed by, or pointing at, `aws_bedrock` mean `bedrock`. */
function fallbackMap(chains: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [from, targets] of Object.entries(chains)) {
    const mapped = Array.isArray(targets)
      ? targets.map((t) => (isRecord(t) && typeof t.provider === 'string' && hasOwn(PROVIDER_ALIASES, t.provider) ? { ...t, provider: PROVIDER_ALIASES[t.provider] } : t))
      : targets;
    setOwn(out, hasOwn(PROVIDER_ALIASES, from) ? PROVIDER_ALIASES[from] : from, mapped);
  }
  return out;
}

/** The original's top-level `fallback_chains` (a `configure()` argument) joins the registry's chains. */
function mergeTopChains(reg: Record<string, unknown>, chains: unknown, problems: string[]): void {
  if (!isRecord(chains)) {
    problems.push('fallback_chains: must be an object');
    return;
  }
  if (reg.fallbacks !== undefined && !isRecord(reg.fallbacks)) return; // validation reports it
  const merged: Record<string, unknown> = { ...(reg.fallbacks as Record<string, unknown> | undefined) };
  for (const [from, targets] of Object.entries(fallbackMap(chains))) {
    if (hasOwn(merged, from)) problems.push(`${at('fallback_chains', from)}: also defined in registry.fallbacks (define each chain once)`);
    else setOwn(merged, from, targets);
  }
  reg.fallbacks = merged;
}

/** `defaults.selection_strategy` (registry or top level) is the strategy unless `strategy` is given. */
function applyDefaults(out: Record<string, unknown>, defaults: unknown, path: string, problems: string[]): void {
  if (defaults === undefined) return;
  if (!isRecord(defaults)) {
    problems.push(`${path}: must be an object`);
    return;
  }
  for (const [name, value] of Object.entries(defaults)) {
    if (name !== 'selection_strategy') {
      problems.push(`${at(path, name)}: unknown option (defaults accepts selection_strategy)`);
      continue;
    }
    if (typeof value !== 'string' || !(STRATEGIES as readonly string[]).includes(value)) {
      problems.push(`${path}.selection_strategy: must be one of ${STRATEGIES.join(', ')}`);
      continue;
    }
    if (out.strategy === undefined) out.strategy = value;
  }
}

/**
 * Copies `src` renaming the known snake_case names. The same option given twice (`key_id` and `keyId`) is a problem
 * naming both: silently keeping the last one would hide a mistake.
 */
function renameFields(src: Record<string, unknown>, names: Record<string, string>, path: string, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const givenAs: Record<string, string> = {};
  for (const [k, v] of Object.entries(src)) {
    const name = hasOwn(names, k) ? names[k] : k;
    if (hasOwn(out, name)) {
      problems.push(`${at(path, k)}: the same option as ${givenAs[name]} (give one of ${givenAs[name]} / ${k})`);
      continue;
    }
    setOwn(givenAs, name, k);
    setOwn(out, name, v);
  }
  return out;
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** Defines an own property even for names like `__proto__` (which plain assignment would turn into a prototype). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
