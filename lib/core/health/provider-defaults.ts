import type { ProviderName } from '../types';

/** Per-provider defaults (SPEC §4), each overridable in `registry.providers.<name>`. */
export interface ProviderDefaults {
  cooldownSeconds: number;
  quarantineSeconds: number;
  maxConsecutiveFailures: number;
  timeoutMs: number;
  maxCooldownSeconds: number;
}

const BASE: ProviderDefaults = { cooldownSeconds: 60, quarantineSeconds: 300, maxConsecutiveFailures: 3, timeoutMs: 60_000, maxCooldownSeconds: 3600 };

export const PROVIDER_DEFAULTS: Readonly<Record<ProviderName, ProviderDefaults>> = {
  openai: BASE,
  openrouter: { ...BASE, cooldownSeconds: 30 },
  azure_openai: BASE,
  // Anthropic's limits refill continuously; a short bench is usually enough when no retry-after is given.
  anthropic: { ...BASE, cooldownSeconds: 30 },
  // Gemini's free-tier quotas are per minute.
  google_ai_studio: BASE,
  google_vertex: BASE,
  bedrock: { ...BASE, cooldownSeconds: 30, timeoutMs: 120_000 },
};
