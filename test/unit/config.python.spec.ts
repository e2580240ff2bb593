import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, LlmRotate, fromPythonConfig, validateOptions, type PythonRegistryConfig } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { recordingLogger } from '../support/options';

/** Issue 9 item 9: the Python registry is accepted in full, so one registry file serves Python and Node workers. */

const MSG = [{ role: 'user' as const, content: 'hi' }];

/** A registry as the original's docs write it (configuration, providers and fallback-chains pages). */
function pythonRegistry(azureEndpoint = 'https://my-resource.openai.azure.com'): PythonRegistryConfig {
  return {
    registry: {
      keys: [
        { key_id: 'anthropic-1', provider: 'anthropic', secret_ref: 'env://ANTHROPIC_API_KEY', models: ['claude-haiku-4-5-20251001'], auth_method: 'api_key', regions: ['us'], tags: ['prod'] },
        { key_id: 'openrouter-1', provider: 'openrouter', secret_ref: 'env://OPENROUTER_API_KEY', models: ['anthropic/claude-haiku-4.5'], priority: 2, weight: 3 },
        {
          key_id: 'vertex-1',
          provider: 'google_vertex',
          secret_ref: 'env://VERTEX_SA_JSON',
          auth_method: 'service_account',
          auth_config: { project: 'my-gcp-project', region: 'us-central1' },
          models: ['gemini-2.0-flash'],
        },
        { key_id: 'azure-1', provider: 'azure_openai', secret_ref: 'literal://azure-py-secret-1', auth_config: { azure_endpoint: azureEndpoint }, models: ['gpt-4o-mini'] },
        { key_id: 'bedrock-1', provider: 'aws_bedrock', secret_ref: 'env://AWS_BEDROCK_JSON', auth_method: 'sigv4', auth_config: { region: 'eu-west-1' }, models: ['anthropic.claude-3-haiku-20240307-v1:0'], rate_limit_rpm: 60 },
      ],
      providers: { openai: { cooldown_seconds: 120 }, aws_bedrock: { quarantine_seconds: 600 } },
      defaults: { selection_strategy: 'priority' },
    },
    use_keys: ['anthropic-1', 'openrouter-1', 'vertex-1', 'azure-1', 'bedrock-1'],
    fallback_chains: { anthropic: [{ provider: 'openrouter', upstream: 'anthropic' }], openai: [{ provider: 'openrouter' }], aws_bedrock: [{ provider: 'anthropic' }] },
    priorities: { 'anthropic-1': 10 },
  };
}

function problemsOf(input: unknown): string[] {
  try {
    validateOptions(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return [...(e as ConfigurationError).problems];
  }
  throw new Error('expected a ConfigurationError');
}

describe('the Python registry, accepted in full', () => {
  it('maps auth_config, defaults.selection_strategy, top-level fallback_chains, aws_bedrock and provider overrides', () => {
    const o = fromPythonConfig(pythonRegistry());
    expect(o.strategy).toBe('priority');
    expect(o.useKeys).toEqual(['anthropic-1', 'openrouter-1', 'vertex-1', 'azure-1', 'bedrock-1']);
    const k = Object.fromEntries(o.registry.keys.map((x) => [x.keyId, x]));
    // auth_method is accepted (and needs no mapping): it is not an option of the camelCase form.
    expect(k['anthropic-1']).toEqual({ keyId: 'anthropic-1', provider: 'anthropic', models: ['claude-haiku-4-5-20251001'], regions: ['us'], tags: ['prod'] });
    // Vertex reads metadata.project and metadata.location; the original's region is its location.
    expect(k['vertex-1'].metadata).toEqual({ project: 'my-gcp-project', region: 'us-central1', location: 'us-central1' });
    expect(k['azure-1']).toMatchObject({ baseUrl: 'https://my-resource.openai.azure.com', metadata: { azure_endpoint: 'https://my-resource.openai.azure.com' } });
    expect(k['bedrock-1']).toMatchObject({ provider: 'bedrock', metadata: { region: 'eu-west-1' }, rateLimitRpm: 60 });
    expect(o.registry.providers).toEqual({ openai: { cooldownSeconds: 120 }, bedrock: { quarantineSeconds: 600 } });
    expect(o.registry.fallbacks).toEqual({
      anthropic: [{ provider: 'openrouter', upstream: 'anthropic' }],
      openai: [{ provider: 'openrouter' }],
      bedrock: [{ provider: 'anthropic' }],
    });
    expect(o.priorities).toEqual({ 'anthropic-1': 10 });
    // The result is ordinary validated options: it validates again, and an explicit strategy wins over defaults.
    expect(validateOptions(o).registry.keys).toHaveLength(5);
    expect(fromPythonConfig({ ...pythonRegistry(), strategy: 'weighted' }).strategy).toBe('weighted');
  });

  it('the same registry as a YAML file starts an engine; aws_bedrock keys get their region from auth_config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmrotate-py-'));
    const file = join(dir, 'registry.yaml');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const yaml = require('js-yaml') as { dump(v: unknown): string };
    writeFileSync(file, yaml.dump(pythonRegistry()));
    const lr = await LlmRotate.create(file, { logger: recordingLogger().logger });
    try {
      const snap = await lr.snapshot();
      expect(snap.strategy).toBe('priority');
      expect(snap.keys.find((x) => x.keyId === 'bedrock-1')?.provider).toBe('bedrock');
    } finally {
      await lr.close();
    }
    // Without the region (auth_config or metadata) a bedrock key is refused at start-up: the mapping is what serves it.
    const noRegion = pythonRegistry();
    delete noRegion.registry.keys[4].auth_config;
    await expect(LlmRotate.create(noRegion as never, { logger: recordingLogger().logger })).rejects.toThrow(/bedrock needs an AWS region/);
  });

  it('auth_config.azure_endpoint is where the Azure key is called', async () => {
    const fake = await OpenAiFake.start();
    const cfg = pythonRegistry(fake.url);
    cfg.use_keys = ['azure-1'];
    cfg.priorities = {};
    const lr = await LlmRotate.create(fromPythonConfig(cfg), { logger: recordingLogger().logger });
    try {
      const r = await lr.chat('gpt-4o-mini', MSG);
      expect(r).toMatchObject({ provider: 'azure_openai', keyId: 'azure-1' });
      expect(fake.requests[0].path).toMatch(/^\/openai\/deployments\/gpt-4o-mini\/chat\/completions\?api-version=/);
      expect(fake.requests[0].headers['api-key']).toBe('azure-py-secret-1');
    } finally {
      await lr.close();
      await fake.close();
    }
  });

  it('bad Python-only fields are named by their Python path', () => {
    const bad = pythonRegistry() as unknown as { registry: { keys: Array<Record<string, unknown>>; defaults: unknown }; fallback_chains: Record<string, unknown> };
    bad.registry.keys[0].auth_method = 7;
    bad.registry.keys[1].auth_config = 'project=x';
    bad.registry.keys[2].metadata = { project: 'another-project' };
    bad.registry.keys[3].base_url = 'https://elsewhere.example.com';
    bad.registry.defaults = { selection_strategy: 'fastest', retries: 3 };
    bad.fallback_chains.anthropic = [{ provider: 'openai' }];
    (bad.registry as Record<string, unknown>).fallback_chains = { anthropic: [{ provider: 'openrouter' }] };
    expect(problemsOf(bad)).toEqual([
      'registry.keys[0].auth_method: must be a non-empty string',
      'registry.keys[1].auth_config: must be an object',
      'registry.keys[2].auth_config.project: contradicts metadata.project (give it once)',
      'registry.keys[3].auth_config.azure_endpoint: contradicts base_url (give it once)',
      'fallback_chains.anthropic: also defined in registry.fallbacks (define each chain once)',
      'registry.defaults.selection_strategy: must be one of health_aware, round_robin, priority, weighted',
      'registry.defaults.retries: unknown option (defaults accepts selection_strategy)',
    ]);
  });

  it('aws_bedrock and bedrock given twice for one provider is an error; unknown keys stay errors', () => {
    expect(problemsOf({ registry: { keys: [{ key_id: 'a', provider: 'aws_bedrock', secret_ref: 'env://A' }], providers: { bedrock: {}, aws_bedrock: {} } }, use_keys: ['a'] })).toEqual([
      'registry.providers.aws_bedrock: the same provider as registry.providers.bedrock (give it once)',
    ]);
    expect(problemsOf({ registry: { keys: [{ key_id: 'a', provider: 'openai', secret_ref: 'env://A', auth_methd: 'api_key' }] }, use_keys: ['a'] })).toEqual([
      'registry.keys[0].auth_methd: unknown option',
    ]);
  });
});
