import type { PriceTable } from '../observability/pricing/price.interfaces';
import type { SecretResolvers } from '../secrets';
import type { ProviderName } from '../types';

export type StrategyName = 'health_aware' | 'round_robin' | 'priority' | 'weighted';
export const STRATEGIES: readonly StrategyName[] = ['health_aware', 'round_robin', 'priority', 'weighted'];

export interface KeyOptions {
  keyId: string;
  provider: ProviderName;
  /** `env://NAME`, `file:///path`, `literal://value` (SPEC §3) or `<scheme>://…` of a `secretResolvers` entry. Never serialized. */
  secretRef: string;
  /** Models this key serves; empty or absent means any model of its provider. */
  models?: string[];
  /** Higher wins (`priority`, `health_aware`). Default 0; from −1,000,000 to 1,000,000. */
  priority?: number;
  /** Share of picks (`weighted`), tie-break (`health_aware`). Default 1; from 0 to 1,000,000. */
  weight?: number;
  maxConcurrent?: number;
  rateLimitRpm?: number;
  rateLimitTpm?: number;
  enabled?: boolean;
  regions?: string[];
  tags?: string[];
  /** Per-key endpoint. Must not carry credentials (`user:password@`): the secret belongs in `secretRef`. */
  baseUrl?: string;
  /** Free-form data handed back on `AcquireContext.metadata` (e.g. an Azure `region`, a Bedrock `region`). */
  metadata?: Record<string, unknown>;
}

export interface ProviderOptions {
  /** Bench after a rate limit without `retry-after`. At most `maxCooldownSeconds`. */
  cooldownSeconds?: number;
  /** Bench after an auth failure or `maxConsecutiveFailures`. At most `maxCooldownSeconds`. */
  quarantineSeconds?: number;
  /**
   * The longest a key of this provider is ever benched (cooldown or quarantine), whatever a `retry-after`, a
   * rate-limit reset header or the configuration says. Default 3600 (one hour); at most 2,147,483 (2^31 ms).
   */
  maxCooldownSeconds?: number;
  maxConsecutiveFailures?: number;
  /**
   * Milliseconds to wait for the response head, then for each gap between body chunks of a stream (a non-streamed
   * body must arrive whole within it). Default 60000 (bedrock 120000). At most 2^31 − 1 ms (`MAX_TIMER_MS`).
   */
  timeoutMs?: number;
  /**
   * Streams: milliseconds from the start of an attempt until its first token (text, reasoning, a finish) arrives.
   * Keep-alive comments and pings do not count. Default: `timeoutMs`. Raise it for models that think before answering.
   */
  firstTokenTimeoutMs?: number;
  /** Streams: the largest single event (an SSE event or line, an AWS event-stream frame) in bytes. Default 8 MiB. */
  maxEventBytes?: number;
  /** The largest non-streamed answer body read, in bytes (error bodies are read up to 64 KiB of it). Default 32 MiB. */
  maxResponseBytes?: number;
  /** Must not carry credentials (`user:password@`). */
  baseUrl?: string;
  /**
   * Extra HTTP headers sent with every request of this provider (e.g. OpenRouter's `HTTP-Referer`, `X-Title`).
   * Names are RFC 7230 tokens; values hold no control characters (CR, LF, NUL, …); the credential headers
   * (`authorization`, `x-api-key`, `api-key`, `x-goog-api-key`) and the client's own (`host`, `content-length`, …)
   * cannot be set here.
   */
  headers?: Record<string, string>;
  /** azure_openai: the `api-version` query parameter; google_ai_studio / google_vertex: the API version path (`v1beta` / `v1`). */
  apiVersion?: string;
  /** azure_openai: model name → deployment name (default: the same name). */
  deployments?: Record<string, string>;
  /** google_vertex: the GCP project (default: the service account's project_id). */
  project?: string;
  /** google_vertex: e.g. `us-central1`; bedrock: the AWS region. */
  location?: string;
  /** bedrock: the AWS region (a key's `metadata.region` wins). */
  region?: string;
  /** anthropic: the `anthropic-version` header. */
  anthropicVersion?: string;
}

export interface RedisStoreOptions {
  backend: 'redis';
  redisUrl?: string;
  redisNamespace?: string;
  /** An existing ioredis `Redis` or `Cluster` the user owns; it is not closed by us. */
  client?: unknown;
  /** Per-command timeout before the store falls back to local state. Default 250 ms. */
  commandTimeoutMs?: number;
  /**
   * Redis Cluster seed nodes (`redis://host:port` URLs; credentials taken from the first). When set, the store
   * connects with an ioredis `Cluster` instead of `redisUrl`. All keys of a namespace share one hash tag (one slot).
   */
  clusterNodes?: string[];
}

export interface MemoryStoreOptions {
  backend: 'memory';
}

export type StateStoreOptions = MemoryStoreOptions | RedisStoreOptions;

export type FallbackTarget = string | { provider: ProviderName; upstream?: string };

export interface RegistryOptions {
  keys: KeyOptions[];
  providers?: Partial<Record<ProviderName, ProviderOptions>>;
  stateStore?: StateStoreOptions;
  /** Keyed by a model name (→ other model names) or by a provider name (→ `{ provider, upstream? }`). */
  fallbacks?: Record<string, FallbackTarget[]>;
}

export interface LlmRotateOptions {
  registry: RegistryOptions;
  /** Which registry keys this instance uses. */
  useKeys: string[];
  strategy?: StrategyName;
  /** Overrides of key priorities by keyId. */
  priorities?: Record<string, number>;
  /** How long a lease lives when nobody releases it (a crashed worker, a forgotten AcquireContext). Default 300000. */
  leaseTtlMs?: number;
  /**
   * Log each usage event through the logger, at this level (`true`: `debug`). Default false: usage goes to
   * `usage$` / `onUsage()` subscribers only.
   */
  logUsage?: boolean | 'debug' | 'verbose' | 'log';
  /** How long `close()` waits for calls in flight (and calls still arriving) before releasing everything. Default 10000. */
  shutdownTimeoutMs?: number;
  /**
   * Resolvers for custom `secretRef` schemes: `{ config: (name) => configService.get(name) }` makes `config://NAME`
   * work; an async resolver (a vault) is cached (`{ resolve, cacheTtlMs }`, default 300000).
   */
  secretResolvers?: SecretResolvers;
  /**
   * Prices (USD per million tokens) by model id (or `provider:model`), overriding and extending the defaults, for
   * the estimated cost on results, usage events, `usageSummary()` and metrics.
   */
  pricing?: PriceTable;
  /**
   * OpenTelemetry spans (a span per call, a child per attempt) and counters. Unset (default): on when
   * `@opentelemetry/api` is installed (it records only once an SDK is registered); `true`: on, and an error at
   * start-up when the package is missing; `false`: off, the package is never loaded.
   */
  tracing?: boolean;
}
