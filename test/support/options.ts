import type { KeyOptions, LlmRotateOptions, RegistryOptions } from '../../lib';
import { canary } from './secret-canary.setup';

export type TestKey = Partial<KeyOptions> & { keyId: string; secret?: string };

/** Builds options from short key descriptions; secrets are `literal://` so tests need no environment. */
export function makeOptions(
  baseUrl: string,
  keys: TestKey[],
  extra: Omit<Partial<LlmRotateOptions>, 'registry'> & Omit<Partial<RegistryOptions>, 'keys'> = {},
): LlmRotateOptions {
  const { providers, stateStore, fallbacks, ...top } = extra;
  return {
    registry: {
      keys: keys.map(({ secret, ...k }) => ({
        provider: 'openai',
        secretRef: `literal://${secret ?? `sk-test-${k.keyId}`}`,
        models: ['gpt-4o-mini'],
        baseUrl,
        ...k,
      })) as KeyOptions[],
      providers,
      stateStore,
      fallbacks,
    },
    useKeys: keys.map((k) => k.keyId),
    ...top,
  };
}

/** A logger that records lines (to prove what is, and is not, logged). */
export function recordingLogger(): { lines: string[]; logger: { debug(m: string): void; warn(m: string): void; error(m: string): void } } {
  const lines: string[] = [];
  return {
    lines,
    logger: { debug: (m) => record(lines, `debug ${m}`), warn: (m) => record(lines, `warn ${m}`), error: (m) => record(lines, `error ${m}`) },
  };
}

/** Every line the library logs is also shown to the secret canary (test/support/secret-canary.setup.ts). */
function record(lines: string[], line: string): void {
  canary.check('the logger', line);
  lines.push(line);
}
