/**
 * Type tests of the Python dict's typed path (issue 9 item 3): compiled by `tsc` (never run). Each
 * `@ts-expect-error` line must fail to compile; if it compiles, tsc reports the directive as unused.
 */
import { fromPythonConfig, type LlmRotateOptions, type PythonKeyConfig, type PythonRegistryConfig } from '../../lib';

const key: PythonKeyConfig = { key_id: 'a', provider: 'openai', secret_ref: 'env://A' };

export function pythonConfigTypeChecks(): LlmRotateOptions[] {
  // The documented Python registry compiles, with every field the original accepts.
  const full: PythonRegistryConfig = {
    registry: {
      keys: [
        { key_id: 'v', provider: 'google_vertex', secret_ref: 'env://SA', auth_method: 'service_account', auth_config: { project: 'p', region: 'us-central1' }, models: ['gemini-2.0-flash'] },
        { key_id: 'b', provider: 'aws_bedrock', secret_ref: 'env://B', auth_config: { region: 'eu-west-1' }, regions: ['eu'], tags: ['x'], rate_limit_rpm: 60, rate_limit_tpm: 1000, priority: 1, weight: 2, enabled: true, metadata: {} },
      ],
      providers: { aws_bedrock: { cooldown_seconds: 30, quarantine_seconds: 300, max_consecutive_failures: 3 }, openai: { max_cooldown_seconds: 600 } },
      defaults: { selection_strategy: 'health_aware' },
      fallback_chains: { anthropic: [{ provider: 'openrouter', upstream: 'anthropic' }] },
      state_store: { backend: 'redis', redis_url: 'redis://127.0.0.1:6379', redis_namespace: 'app' },
    },
    use_keys: ['v', 'b'],
    strategy: 'priority',
    priorities: { v: 10 },
    fallback_chains: { openai: [{ provider: 'openrouter' }], 'gpt-4o': ['gpt-4o-mini'] },
  };
  const out: LlmRotateOptions[] = [fromPythonConfig(full)];

  // @ts-expect-error TS2820 a provider typo
  out.push(fromPythonConfig({ registry: { keys: [{ key_id: 'a', provider: 'opnai', secret_ref: 'env://A' }] }, use_keys: ['a'] }));
  // @ts-expect-error TS2561 a misspelt top-level option
  out.push(fromPythonConfig({ registry: { keys: [key] }, use_keys: ['a'], stratgy: 'priority' }));
  // @ts-expect-error TS2820 a strategy typo in defaults
  out.push(fromPythonConfig({ registry: { keys: [key], defaults: { selection_strategy: 'health_awre' } }, use_keys: ['a'] }));
  // @ts-expect-error TS2345 use_keys is required
  out.push(fromPythonConfig({ registry: { keys: [key] } }));
  // @ts-expect-error TS2561 the camelCase names are not the Python form
  out.push(fromPythonConfig({ registry: { keys: [{ keyId: 'a', provider: 'openai', secretRef: 'env://A' }] }, use_keys: ['a'] }));
  // @ts-expect-error TS2322 a fallback target must name a provider
  out.push(fromPythonConfig({ registry: { keys: [key], fallback_chains: { anthropic: [{ provider: 'nobody' }] } }, use_keys: ['a'] }));
  // @ts-expect-error TS2322 auth_config is an object
  out.push(fromPythonConfig({ registry: { keys: [{ ...key, auth_config: 'project=x' }] }, use_keys: ['a'] }));
  // @ts-expect-error TS2561 a provider override typo
  out.push(fromPythonConfig({ registry: { keys: [key], providers: { openai: { cooldown_secs: 5 } } }, use_keys: ['a'] }));
  // @ts-expect-error TS2353 an unknown provider in the overrides
  out.push(fromPythonConfig({ registry: { keys: [key], providers: { mistral: {} } }, use_keys: ['a'] }));
  // @ts-expect-error TS2345 an empty dict is not a configuration
  out.push(fromPythonConfig({}));
  return out;
}
