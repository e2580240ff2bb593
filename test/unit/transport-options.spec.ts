import { ConfigurationError, validateOptions } from '../../lib';
import { ResolvedConfig } from '../../lib/core/config/resolved-config';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_RESPONSE_BYTES } from '../../lib/core/transport/limits';

const base = (openai: Record<string, unknown>) => ({
  registry: { keys: [{ keyId: 'k', provider: 'openai', secretRef: 'env://K' }], providers: { openai } },
  useKeys: ['k'],
});

function problems(openai: Record<string, unknown>): string[] {
  try {
    validateOptions(base(openai));
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return [...(e as ConfigurationError).problems];
  }
}

describe('per-provider transport options: firstTokenTimeoutMs, maxEventBytes, maxResponseBytes', () => {
  it('are accepted and resolved; firstTokenTimeoutMs defaults to timeoutMs, the caps to 8 MiB and 32 MiB', () => {
    const withAll = new ResolvedConfig(validateOptions(base({ timeoutMs: 9000, firstTokenTimeoutMs: 2000, maxEventBytes: 65536, maxResponseBytes: 1048576 })));
    expect(withAll.providers.get('openai')).toMatchObject({ timeoutMs: 9000, firstTokenTimeoutMs: 2000, maxEventBytes: 65536, maxResponseBytes: 1048576 });
    const defaults = new ResolvedConfig(validateOptions(base({ timeoutMs: 9000 })));
    expect(defaults.providers.get('openai')).toMatchObject({ timeoutMs: 9000, firstTokenTimeoutMs: 9000, maxEventBytes: DEFAULT_MAX_EVENT_BYTES, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES });
    expect(DEFAULT_MAX_EVENT_BYTES).toBe(8 * 1024 * 1024);
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(32 * 1024 * 1024);
  });

  it.each([
    [{ firstTokenTimeoutMs: 0 }, /firstTokenTimeoutMs/],
    [{ firstTokenTimeoutMs: 2 ** 31 }, /firstTokenTimeoutMs/],
    [{ firstTokenTimeoutMs: 1.5 }, /firstTokenTimeoutMs/],
    [{ maxEventBytes: 1023 }, /maxEventBytes/],
    [{ maxEventBytes: '8MB' }, /maxEventBytes/],
    [{ maxResponseBytes: 100 }, /maxResponseBytes/],
    [{ maxResponseBytes: 2 ** 31 }, /maxResponseBytes/],
  ])('%j is refused with a problem naming the field', (openai, field) => {
    const p = problems(openai);
    expect(p.length).toBeGreaterThan(0);
    for (const line of p) {
      expect(line).toMatch(/^registry\.providers\.openai\./);
      expect(line).toMatch(field);
    }
  });
});
