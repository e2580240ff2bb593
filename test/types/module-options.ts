/*
 * Type tests of the options: each `// @ts-expect-error TSnnnn <what>` line must be followed by a line with that
 * error (test/unit/types.spec.ts checks the code too), and everything else must compile.
 */
import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import {
  LlmRotate,
  LlmRotateModule,
  validateOptions,
  type LlmRotateOptions,
  type LlmRotateOptionsFactory,
} from '../../lib';

const keys = [{ keyId: 'a', provider: 'openai', secretRef: 'env://OPENAI_API_KEY' }] as const satisfies LlmRotateOptions['registry']['keys'];
const base: LlmRotateOptions = { registry: { keys: [...keys] }, useKeys: ['a'] };

// ─────────────────────────── forRoot ───────────────────────────

LlmRotateModule.forRoot(base);
LlmRotateModule.forRoot({ ...base, name: 'cheap', isGlobal: true, strategy: 'round_robin', logUsage: 'log', shutdownTimeoutMs: 5000 });
LlmRotateModule.forRoot({
  registry: {
    keys: [{ keyId: 'a', provider: 'anthropic', secretRef: 'env://A', models: ['claude-haiku-4-5'], metadata: { anything: 1 } }],
    providers: { anthropic: { cooldownSeconds: 20, headers: { 'x-any': 'y' } } },
    stateStore: { backend: 'redis', redisUrl: 'redis://localhost:6379' },
    fallbacks: { 'gpt-4o-mini': ['claude-haiku-4-5', { provider: 'openrouter', upstream: 'openai' }] },
  },
  useKeys: ['a'],
  priorities: { a: 2 },
});

LlmRotateModule.forRoot({
  ...base,
  // @ts-expect-error TS2561 a misspelt option name
  stratgy: 'health_aware',
});
LlmRotateModule.forRoot({
  ...base,
  // @ts-expect-error TS2820 a misspelt option value
  strategy: 'health_awre',
});
LlmRotateModule.forRoot({
  registry: {
    // @ts-expect-error TS2820 a misspelt provider
    keys: [{ keyId: 'a', provider: 'opnai', secretRef: 'env://OPENAI_API_KEY' }],
  },
  useKeys: ['a'],
});
LlmRotateModule.forRoot({
  registry: {
    // @ts-expect-error TS2561 a misspelt key option
    keys: [{ keyId: 'a', provider: 'openai', secretRef: 'env://OPENAI_API_KEY', modles: ['gpt-4o'] }],
  },
  useKeys: ['a'],
});
LlmRotateModule.forRoot({
  ...base,
  // @ts-expect-error TS2322 logUsage takes a log level, not any string
  logUsage: 'info',
});
// @ts-expect-error TS2345 no options at all
LlmRotateModule.forRoot({});
// @ts-expect-error TS2345 the Python snake_case dict has its own path (validateOptions / fromPythonConfig), not this one
LlmRotateModule.forRoot({ registry: { keys: [] }, use_keys: [] } as Record<string, unknown>);
// The typed path for the Python dict:
LlmRotateModule.forRoot(validateOptions({ registry: { keys: [{ key_id: 'a', provider: 'openai', secret_ref: 'env://K' }] }, use_keys: ['a'] }));

// ───────────────────────── forRootAsync ─────────────────────────

LlmRotateModule.forRootAsync({ useFactory: () => base });
LlmRotateModule.forRootAsync({ useFactory: async () => base });
LlmRotateModule.forRootAsync({
  name: 'premium',
  isGlobal: true,
  imports: [ConfigModule],
  inject: [ConfigService, { token: 'OPTIONAL', optional: true }],
  extraProviders: [{ provide: 'OPTIONAL', useValue: 1 }],
  useFactory: (config: ConfigService) => ({
    registry: {
      keys: [{ keyId: 'a', provider: 'openai', secretRef: `env://${config.getOrThrow<string>('KEY_NAME')}`, metadata: { region: 'eu' } }],
      stateStore: config.get('REDIS_URL') ? { backend: 'redis', redisUrl: config.get<string>('REDIS_URL') } : { backend: 'memory' },
    },
    useKeys: ['a'],
    strategy: 'priority',
  }),
});

// @ts-expect-error TS2322 an empty factory result
LlmRotateModule.forRootAsync({ useFactory: () => ({}) });
LlmRotateModule.forRootAsync({
  // @ts-expect-error TS2322 a misspelt option name in a factory's object literal
  useFactory: () => ({ ...base, stratgy: 'priority' }),
});
LlmRotateModule.forRootAsync({
  // @ts-expect-error TS2322 a misspelt option name in an async factory, deep inside a key
  useFactory: async () => ({ registry: { keys: [{ keyId: 'a', provider: 'openai', secretRef: 'env://K', modles: [] }] }, useKeys: ['a'] }),
});
LlmRotateModule.forRootAsync({
  // @ts-expect-error TS2322 a misspelt provider setting
  useFactory: () => ({ ...base, registry: { ...base.registry, providers: { openai: { timeotMs: 1000 } } } }),
});
LlmRotateModule.forRootAsync({
  // @ts-expect-error TS2322 a misspelt state store option
  useFactory: () => ({ ...base, registry: { ...base.registry, stateStore: { backend: 'redis', redisUrll: 'redis://x' } } }),
});
LlmRotateModule.forRootAsync({
  // @ts-expect-error TS2322 a misspelt option value in a factory
  useFactory: () => ({ ...base, strategy: 'health_awre' }),
});
LlmRotateModule.forRootAsync({
  // @ts-expect-error TS2322 a factory returning the Python dict as it is
  useFactory: (): Record<string, unknown> => ({ registry: {}, use_keys: [] }),
});
// @ts-expect-error TS2561 a misspelt module option
LlmRotateModule.forRootAsync({ useFactory: () => base, extraProvider: [] });

@Injectable()
class GoodFactory implements LlmRotateOptionsFactory {
  createLlmRotateOptions(): LlmRotateOptions {
    return base;
  }
}
@Injectable()
class EmptyFactory {
  createLlmRotateOptions(): object {
    return {};
  }
}
LlmRotateModule.forRootAsync({ useClass: GoodFactory });
LlmRotateModule.forRootAsync({ useExisting: GoodFactory });
// @ts-expect-error TS2322 a class whose options are not LlmRotateOptions
LlmRotateModule.forRootAsync({ useClass: EmptyFactory });

@Module({ imports: [LlmRotateModule.forRoot(base)] })
export class TypedModule {}

// ─────────────────────── reload and the engine ───────────────────────

export async function engine(llm: LlmRotate): Promise<void> {
  await llm.reload(base);
  await llm.reload('./registry.yaml');
  await llm.reload({ ...base, strategy: 'weighted' });
  // @ts-expect-error TS2561 a misspelt option name on reload
  await llm.reload({ ...base, stratgy: 'weighted' });
  // @ts-expect-error TS2345 an empty reload
  await llm.reload({});
  // @ts-expect-error TS2345 a dict is not options
  await llm.reload({ use_keys: [] } as Record<string, unknown>);
  // @ts-expect-error TS2345 not options at all
  await llm.reload(42);
  await LlmRotate.create(base);
  await LlmRotate.create('./registry.json');
  // @ts-expect-error TS2820 a misspelt value, also outside Nest
  await LlmRotate.create({ ...base, strategy: 'round_robbin' });
}
