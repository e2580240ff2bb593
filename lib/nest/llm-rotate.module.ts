import { Module, type Provider } from '@nestjs/common';
import type { LlmRotateOptions } from '../core/config/options.interfaces';
import { LlmRotate } from '../core/llm-rotate';
import { LLM_ROTATE_ENGINE } from './llm-rotate.constants';
import { LlmRotateHealthIndicator } from './llm-rotate.health';
import { ConfigurableModuleClass, LLM_ROTATE_OPTIONS, type LlmRotateModuleOptions } from './llm-rotate.module-definition';
import { LlmRotateService } from './llm-rotate.service';
import { nestLogger } from './nest-logger';

const engineProvider: Provider = {
  provide: LLM_ROTATE_ENGINE,
  inject: [LLM_ROTATE_OPTIONS],
  // Validation errors (ConfigurationError) stop the app here, at start-up, with every problem listed.
  useFactory: (options: LlmRotateModuleOptions) => LlmRotate.create(options as LlmRotateOptions, { logger: nestLogger() }),
};

/**
 * `LlmRotateModule.forRoot(options)` / `forRootAsync({ imports, inject, useFactory | useClass | useExisting, isGlobal })`.
 * Provides {@link LlmRotateService} and {@link LlmRotateHealthIndicator}. No global state: every module instance
 * owns its own engine and closes it on shutdown.
 */
@Module({
  providers: [engineProvider, LlmRotateService, LlmRotateHealthIndicator],
  exports: [LlmRotateService, LlmRotateHealthIndicator, LLM_ROTATE_ENGINE],
})
export class LlmRotateModule extends ConfigurableModuleClass {}
