import { ConfigurableModuleBuilder, type ConfigurableModuleOptionsFactory } from '@nestjs/common';
import type { LlmRotateOptions } from '../core/config/options.interfaces';

/**
 * forRoot(options) and forRootAsync({ imports, inject, useFactory | useClass | useExisting }), both with `isGlobal`.
 * Options may also be the Python-style snake_case dict (SPEC §2); they are validated when the module starts.
 */
export type LlmRotateModuleOptions = LlmRotateOptions | Record<string, unknown>;

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: LLM_ROTATE_OPTIONS, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<LlmRotateModuleOptions>({ moduleName: 'LlmRotate' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createLlmRotateOptions')
    .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();

/** What a `useClass` / `useExisting` options provider implements. */
export type LlmRotateOptionsFactory = ConfigurableModuleOptionsFactory<LlmRotateModuleOptions, 'createLlmRotateOptions'>;
