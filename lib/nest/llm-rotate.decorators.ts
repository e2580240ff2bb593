import { Inject } from '@nestjs/common';
import { getLlmRotateEngineToken, getLlmRotateHealthToken, getLlmRotateToken } from './llm-rotate.tokens';

/** Injects the `LlmRotateService` of the pool `name` (`forRoot({ name, ... })`); without a name, the default pool. */
export const InjectLlmRotate = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getLlmRotateToken(name));

/** Injects the `LlmRotateHealthIndicator` of the pool `name`; without a name, the default pool's. */
export const InjectLlmRotateHealth = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getLlmRotateHealthToken(name));

/** Injects the framework-free `LlmRotate` engine of the pool `name`; without a name, the default pool's. */
export const InjectLlmRotateEngine = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getLlmRotateEngineToken(name));
