import type { KeyOptions, LlmRotateOptions, RegistryOptions } from '../../lib';

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
    logger: { debug: (m) => lines.push(`debug ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) },
  };
}
