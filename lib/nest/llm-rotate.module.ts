import { Module, type DynamicModule, type InjectionToken, type Provider } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { LlmRotateOptions } from '../core/config/options.interfaces';
import { ConfigurationError } from '../core/errors';
import { LlmRotate } from '../core/llm-rotate';
import { LLM_ROTATE_LOGGER_CONTEXT } from './llm-rotate.constants';
import { LlmRotateHealthIndicator } from './llm-rotate.health';
import type { LlmRotateModuleAsyncOptions, LlmRotateModuleOptions, LlmRotateOptionsFactory, StrictFactory } from './llm-rotate.interfaces';
import { LlmRotateService } from './llm-rotate.service';
import { getLlmRotateEngineToken, getLlmRotateHealthToken, getLlmRotateOptionsToken, getLlmRotateToken } from './llm-rotate.tokens';
import { nestLogger } from './nest-logger';

/** Names that belong to the module, never to the engine (which refuses names it does not know). */
const MODULE_ONLY = ['name', 'isGlobal', 'extraProviders'] as const;

/**
 * `LlmRotateModule.forRoot(options)` / `forRootAsync({ imports, inject, useFactory | useClass | useExisting,
 * extraProviders })`, each with `name` and `isGlobal`. Provides the pool's {@link LlmRotateService},
 * {@link LlmRotateHealthIndicator} and engine: the default pool by class (`LlmRotateService`,
 * `LlmRotateHealthIndicator`, `LLM_ROTATE_ENGINE`), a named pool through `@InjectLlmRotate(name)`,
 * `@InjectLlmRotateHealth(name)`, `@InjectLlmRotateEngine(name)`. No global state: every registration owns its
 * own engine and closes it on shutdown.
 */
@Module({})
export class LlmRotateModule {
  static forRoot(options: LlmRotateModuleOptions): DynamicModule {
    const { name, isGlobal } = options;
    return build(name, isGlobal, [], [{ provide: getLlmRotateOptionsToken(name), useValue: engineOptions(options) }]);
  }

  static forRootAsync<R extends LlmRotateOptions>(options: LlmRotateModuleAsyncOptions<R> & StrictFactory<R>): DynamicModule {
    const { name, isGlobal, imports = [], extraProviders = [] } = options;
    return build(name, isGlobal, imports, [...asyncOptionsProviders(options, getLlmRotateOptionsToken(name)), ...extraProviders]);
  }
}

function build(name: string | undefined, isGlobal: boolean | undefined, imports: NonNullable<DynamicModule['imports']>, optionProviders: Provider[]): DynamicModule {
  const optionsToken = getLlmRotateOptionsToken(name);
  const engineToken = getLlmRotateEngineToken(name);
  const serviceToken = getLlmRotateToken(name);
  const healthToken = getLlmRotateHealthToken(name);
  const context = name === undefined ? LLM_ROTATE_LOGGER_CONTEXT : `${LLM_ROTATE_LOGGER_CONTEXT}:${name}`;
  const providers: Provider[] = [
    ...optionProviders,
    {
      provide: engineToken,
      inject: [optionsToken],
      // Validation errors (ConfigurationError) stop the app here, at start-up, with every problem listed.
      useFactory: (o: LlmRotateOptions) => LlmRotate.create(engineOptions(o), { logger: nestLogger(context) }),
    },
    { provide: serviceToken, inject: [engineToken], useFactory: (engine: LlmRotate) => new LlmRotateService(engine) },
    { provide: healthToken, inject: [serviceToken], useFactory: (service: LlmRotateService) => new LlmRotateHealthIndicator(service) },
    // Two registrations with equal options are still two modules (Nest would otherwise merge them into one).
    { provide: MODULE_ID, useValue: randomUUID() },
  ];
  return { module: LlmRotateModule, global: isGlobal === true, imports, providers, exports: [serviceToken, healthToken, engineToken] };
}

const MODULE_ID = Symbol('LLM_ROTATE_MODULE_ID');

function asyncOptionsProviders(options: LlmRotateModuleAsyncOptions<LlmRotateOptions>, token: InjectionToken): Provider[] {
  if (options.useFactory !== undefined) {
    const factory = options.useFactory as (...args: unknown[]) => LlmRotateOptions | Promise<LlmRotateOptions>;
    return [{ provide: token, inject: options.inject ?? [], useFactory: factory }];
  }
  const cls = options.useClass ?? options.useExisting;
  if (cls === undefined) throw new ConfigurationError(['LlmRotateModule.forRootAsync: give one of useFactory, useClass or useExisting']);
  const create = { provide: token, inject: [cls], useFactory: (f: LlmRotateOptionsFactory) => f.createLlmRotateOptions() };
  return options.useClass !== undefined ? [{ provide: cls, useClass: cls }, create] : [create];
}

/** The options without the module's own names (also when a factory returned them anyway). */
function engineOptions(options: LlmRotateOptions): LlmRotateOptions {
  if (typeof options !== 'object' || options === null || !MODULE_ONLY.some((k) => k in options)) return options;
  const copy: Record<string, unknown> = { ...options };
  for (const k of MODULE_ONLY) delete copy[k];
  return copy as unknown as LlmRotateOptions;
}
