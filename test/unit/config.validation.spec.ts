import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, LlmRotate, loadOptionsFile, validateOptions } from '../../lib';

function problemsOf(input: unknown): string[] {
  try {
    validateOptions(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return [...(e as ConfigurationError).problems];
  }
  throw new Error('expected a ConfigurationError');
}

const key = (id: string, extra: Record<string, unknown> = {}) => ({ keyId: id, provider: 'openai' as const, secretRef: `env://KEY_${id}`, ...extra });

describe('options validation (SPEC §2)', () => {
  it('accepts a minimal valid config', () => {
    expect(validateOptions({ registry: { keys: [key('a')] }, useKeys: ['a'] }).useKeys).toEqual(['a']);
  });

  it('lists every problem, each by path, in one error', () => {
    const problems = problemsOf({
      registry: {
        keys: [
          key('a', { priority: 'high' }),
          key('b', { provider: 'mistral' }),
          key('a'),
          { keyId: 'c', provider: 'openai', secretRef: 'vault://x' },
          key('d', { maxConcurrent: 0, baseUrl: 'not a url', extra: 1 }),
        ],
        providers: { openai: { cooldownSeconds: -1 }, cohere: {} },
        stateStore: { backend: 'etcd' },
        fallbacks: { 'gpt-4o': [{ provider: 'nobody' }, 3] },
      },
      useKeys: ['a', 'missing'],
      strategy: 'fastest',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'registry.keys[0].priority: must be a number conforming to the specified constraints',
        expect.stringMatching(/^registry\.keys\[1\]\.provider: must be one of openai, anthropic/),
        'registry.keys[2].keyId: duplicate keyId "a" (also registry.keys[0])',
        'registry.keys[3].secretRef: must be env://NAME, file:///path or literal://value',
        expect.stringMatching(/^registry\.keys\[4\]\.maxConcurrent: must not be less than 1/),
        expect.stringMatching(/^registry\.keys\[4\]\.baseUrl: /),
        'registry.keys[4].extra: unknown option',
        expect.stringMatching(/^registry\.providers\.openai\.cooldownSeconds: must not be less than 0/),
        expect.stringMatching(/^registry\.providers\.cohere: unknown provider/),
        expect.stringMatching(/^registry\.stateStore\.backend: must be one of memory, redis/),
        expect.stringMatching(/^registry\.fallbacks\.gpt-4o\[0\]\.provider: must be one of/),
        'registry.fallbacks.gpt-4o[1]: must be a model name or { provider, upstream? }',
        'useKeys[1]: "missing" is not a keyId of registry.keys',
        expect.stringMatching(/^strategy: must be one of health_aware, round_robin, priority, weighted/),
      ]),
    );
    expect(problems).toHaveLength(14);
  });

  it('an empty key list, empty useKeys and a missing registry are named', () => {
    expect(problemsOf({ registry: { keys: [] }, useKeys: [] })).toEqual(
      expect.arrayContaining(['registry.keys: must list at least one key', 'useKeys: must name at least one key']),
    );
    expect(problemsOf({ useKeys: ['a'] })).toEqual(expect.arrayContaining([expect.stringMatching(/^registry: /)]));
    expect(problemsOf(null)).toEqual(['options: must be an object']);
  });

  it('never echoes a secretRef value in a problem', () => {
    const problems = problemsOf({ registry: { keys: [key('a', { secretRef: 'sk-live-abcdefghijklmnopqrstuvwx', weight: 'x' })] }, useKeys: ['a'] });
    expect(problems.join('\n')).not.toContain('sk-live');
    expect(problems).toContain('registry.keys[0].secretRef: must be env://NAME, file:///path or literal://value');
  });

  it('accepts the Python-style snake_case dict (and fallback_chains)', () => {
    const opts = validateOptions({
      registry: {
        keys: [{ key_id: 'a', provider: 'openai', secret_ref: 'env://A', rate_limit_rpm: 60, max_concurrent: 2, base_url: 'http://127.0.0.1:9/v1', metadata: { some_field: 1 } }],
        providers: { openai: { cooldown_seconds: 5, max_consecutive_failures: 2, timeout_ms: 1000 } },
        state_store: { backend: 'redis', redis_url: 'redis://127.0.0.1:6379', redis_namespace: 'app1' },
        fallback_chains: { anthropic: [{ provider: 'openrouter', upstream: 'anthropic' }] },
      },
      use_keys: ['a'],
      strategy: 'round_robin',
    });
    expect(opts.registry.keys[0]).toEqual({ keyId: 'a', provider: 'openai', rateLimitRpm: 60, maxConcurrent: 2, baseUrl: 'http://127.0.0.1:9/v1', metadata: { some_field: 1 } });
    // The ref is there, but hidden from JSON and inspect; validated options validate again.
    expect(opts.registry.keys[0].secretRef).toBe('env://A');
    expect(JSON.stringify(opts)).not.toContain('env://A');
    expect(validateOptions(opts).registry.keys[0].secretRef).toBe('env://A');
    expect(opts.registry.providers?.openai).toEqual({ cooldownSeconds: 5, maxConsecutiveFailures: 2, timeoutMs: 1000 });
    expect(opts.registry.stateStore).toEqual({ backend: 'redis', redisUrl: 'redis://127.0.0.1:6379', redisNamespace: 'app1' });
    expect(opts.registry.fallbacks).toEqual({ anthropic: [{ provider: 'openrouter', upstream: 'anthropic' }] });
    expect(opts.useKeys).toEqual(['a']);
  });

  it('reads JSON and YAML registry files; the engine takes a path too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmrotate-'));
    const json = join(dir, 'registry.json');
    writeFileSync(json, JSON.stringify({ registry: { keys: [{ key_id: 'a', provider: 'openai', secret_ref: 'literal://sk-file-test-1' }] }, use_keys: ['a'] }));
    const yaml = join(dir, 'registry.yaml');
    writeFileSync(yaml, 'registry:\n  keys:\n    - key_id: a\n      provider: openai\n      secret_ref: env://OPENAI_API_KEY\nuse_keys: [a]\nstrategy: priority\n');
    expect(validateOptions(loadOptionsFile(yaml)).strategy).toBe('priority');
    const lr = await LlmRotate.create(json);
    expect((await lr.snapshot()).keys.map((k) => k.keyId)).toEqual(['a']);
    await lr.close();
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(() => loadOptionsFile(join(dir, 'bad.json'))).toThrow(/bad\.json: not valid JSON/);
    expect(() => loadOptionsFile(join(dir, 'absent.json'))).toThrow(/absent\.json: cannot be read \(ENOENT\)/);
  });

  it('the engine refuses to start on a bad config', () => {
    expect(() => new LlmRotate({ registry: { keys: [key('a')] }, useKeys: ['b'] })).toThrow(ConfigurationError);
  });
});
