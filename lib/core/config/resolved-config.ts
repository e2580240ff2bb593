import type { HealthSettings } from '../health/health.interfaces';
import { PROVIDER_DEFAULTS } from '../health/provider-defaults';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_RESPONSE_BYTES } from '../transport/limits';
import type { StoreKeySpec } from '../store/store.interfaces';
import type { ProviderName } from '../types';
import type { FallbackTarget, KeyOptions, LlmRotateOptions, ProviderOptions, StrategyName } from './options.interfaces';
import { hideSecretRef } from './secret-ref';

/** A provider's effective settings: defaults merged with `registry.providers.<name>`. */
export interface ProviderSettings extends Omit<ProviderOptions, 'cooldownSeconds' | 'quarantineSeconds' | 'maxConsecutiveFailures' | 'maxCooldownSeconds'> {
  readonly provider: ProviderName;
  readonly timeoutMs: number;
  /** Resolved by {@link ResolvedConfig} (default `timeoutMs`); optional for settings built by hand. */
  readonly firstTokenTimeoutMs?: number;
  readonly maxEventBytes?: number;
  readonly maxResponseBytes?: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly health: HealthSettings;
}

/** A used key, resolved. `secretRef` is a hidden accessor (./secret-ref.ts) so no serialization shows it. */
export interface KeyRuntime {
  readonly keyId: string;
  readonly provider: ProviderName;
  readonly secretRef: string;
  /** null: serves any model of its provider. */
  readonly models: ReadonlySet<string> | null;
  readonly priority: number;
  readonly weight: number;
  readonly baseUrl: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly regions: readonly string[];
  readonly tags: readonly string[];
  readonly settings: ProviderSettings;
  readonly spec: StoreKeySpec;
}

export const DEFAULT_LEASE_TTL_MS = 300_000;

/** The immutable, validated form of one configuration (a reload builds a new one). */
export class ResolvedConfig {
  readonly keys: readonly KeyRuntime[];
  readonly keysById: ReadonlyMap<string, KeyRuntime>;
  readonly providers: ReadonlyMap<ProviderName, ProviderSettings>;
  readonly strategy: StrategyName;
  readonly fallbacks: Readonly<Record<string, readonly FallbackTarget[]>>;
  readonly leaseTtlMs: number;

  constructor(options: LlmRotateOptions) {
    const reg = options.registry;
    const providers = new Map<ProviderName, ProviderSettings>();
    const settingsOf = (p: ProviderName): ProviderSettings => {
      let s = providers.get(p);
      if (s === undefined) {
        s = providerSettings(p, reg.providers?.[p]);
        providers.set(p, s);
      }
      return s;
    };
    const byId = new Map(reg.keys.map((k) => [k.keyId, k] as const));
    const keys = options.useKeys.map((id) => keyRuntime(byId.get(id) as KeyOptions, settingsOf, options.priorities));
    this.keys = keys;
    this.keysById = new Map(keys.map((k) => [k.keyId, k]));
    this.providers = providers;
    this.strategy = options.strategy ?? 'health_aware';
    this.fallbacks = reg.fallbacks ?? {};
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  /** The providers of the used keys, each once, in first-use order. */
  usedProviders(): ProviderName[] {
    return [...new Set(this.keys.map((k) => k.provider))];
  }
}

function providerSettings(p: ProviderName, o: ProviderOptions | undefined): ProviderSettings {
  const d = PROVIDER_DEFAULTS[p];
  const { cooldownSeconds, quarantineSeconds, maxConsecutiveFailures, maxCooldownSeconds, ...rest } = o ?? {};
  const maxBenchMs = (maxCooldownSeconds ?? d.maxCooldownSeconds) * 1000;
  return {
    ...rest,
    provider: p,
    timeoutMs: o?.timeoutMs ?? d.timeoutMs,
    firstTokenTimeoutMs: o?.firstTokenTimeoutMs ?? o?.timeoutMs ?? d.timeoutMs,
    maxEventBytes: o?.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    maxResponseBytes: o?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    headers: o?.headers ?? {},
    health: {
      cooldownMs: Math.min((cooldownSeconds ?? d.cooldownSeconds) * 1000, maxBenchMs),
      quarantineMs: Math.min((quarantineSeconds ?? d.quarantineSeconds) * 1000, maxBenchMs),
      maxConsecutiveFailures: maxConsecutiveFailures ?? d.maxConsecutiveFailures,
      maxBenchMs,
    },
  };
}

function keyRuntime(
  k: KeyOptions,
  settingsOf: (p: ProviderName) => ProviderSettings,
  priorities: Record<string, number> | undefined,
): KeyRuntime {
  const settings = settingsOf(k.provider);
  const rt: Omit<KeyRuntime, 'secretRef'> = {
    keyId: k.keyId,
    provider: k.provider,
    models: k.models && k.models.length > 0 ? new Set(k.models) : null,
    priority: priorities?.[k.keyId] ?? k.priority ?? 0,
    weight: k.weight ?? 1,
    baseUrl: k.baseUrl ?? settings.baseUrl,
    metadata: k.metadata ?? {},
    regions: k.regions ?? [],
    tags: k.tags ?? [],
    settings,
    spec: {
      keyId: k.keyId,
      enabled: k.enabled ?? true,
      maxConcurrent: k.maxConcurrent ?? 0,
      rateLimitRpm: k.rateLimitRpm ?? 0,
      rateLimitTpm: k.rateLimitTpm ?? 0,
      health: settings.health,
    },
  };
  return hideSecretRef(rt, k.secretRef) as KeyRuntime;
}
