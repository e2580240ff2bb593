import type { InjectionToken } from '@nestjs/common';
import { LLM_ROTATE_ENGINE, LLM_ROTATE_OPTIONS } from './llm-rotate.constants';
import { LlmRotateHealthIndicator } from './llm-rotate.health';
import { LlmRotateService } from './llm-rotate.service';

/*
 * The default pool (no `name`) keeps the tokens it always had: the classes `LlmRotateService` and
 * `LlmRotateHealthIndicator`, and the symbols `LLM_ROTATE_ENGINE` / `LLM_ROTATE_OPTIONS`. A named pool gets string
 * tokens, like @nestjs/bullmq's `getQueueToken(name)`.
 */

/** The `LlmRotateService` of a pool: `@Inject(getLlmRotateToken('cheap'))`, or `@InjectLlmRotate('cheap')`. */
export function getLlmRotateToken(name?: string): InjectionToken {
  return name === undefined ? LlmRotateService : `LlmRotateService:${checkName(name)}`;
}

/** The `LlmRotateHealthIndicator` of a pool. */
export function getLlmRotateHealthToken(name?: string): InjectionToken {
  return name === undefined ? LlmRotateHealthIndicator : `LlmRotateHealthIndicator:${checkName(name)}`;
}

/** The framework-free `LlmRotate` engine of a pool. */
export function getLlmRotateEngineToken(name?: string): InjectionToken {
  return name === undefined ? LLM_ROTATE_ENGINE : `LlmRotateEngine:${checkName(name)}`;
}

/** The options of a pool, as given to the module (before validation). */
export function getLlmRotateOptionsToken(name?: string): InjectionToken {
  return name === undefined ? LLM_ROTATE_OPTIONS : `LlmRotateOptions:${checkName(name)}`;
}

function checkName(name: string): string {
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError(`LlmRotateModule: name must be a non-empty string (got ${JSON.stringify(name)})`);
  return name;
}
