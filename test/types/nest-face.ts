/*
 * Type tests of the Nest face: named pools, the health indicator with Terminus' own types, the SSE event union,
 * the exception filter. Same rules as module-options.ts.
 */
import { Controller, Get, Injectable, Sse } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import type { Observable } from 'rxjs';
import {
  getLlmRotateToken,
  InjectLlmRotate,
  InjectLlmRotateHealth,
  LlmRotateExceptionFilter,
  LlmRotateHealthIndicator,
  LlmRotateService,
  llmRotateErrorToHttp,
  llmRotateErrorToSse,
  NoAvailableKeyError,
  type ChatSseEvent,
  type LlmRotateOptions,
} from '../../lib';

@Injectable()
export class TwoPools {
  constructor(
    @InjectLlmRotate('cheap') readonly cheap: LlmRotateService,
    @InjectLlmRotate() readonly byDefault: LlmRotateService,
    @InjectLlmRotateHealth('cheap') readonly health: LlmRotateHealthIndicator,
    // @ts-expect-error TS2345 a pool name is a string
    @InjectLlmRotate(42) readonly wrong: LlmRotateService,
  ) {}
}
export const token: string | symbol | object = getLlmRotateToken('cheap');

// The indicator's result is Terminus' HealthIndicatorResult without importing Terminus in our typings.
export function checks(health: HealthCheckService, indicator: LlmRotateHealthIndicator): Promise<HealthCheckResult> {
  const fn: HealthIndicatorFunction = () => indicator.isHealthy('llm', { minAvailable: 2 });
  return health.check([fn, () => indicator.isHealthy('cheap')]);
}
export async function keyed(indicator: LlmRotateHealthIndicator): Promise<string> {
  const r = await indicator.isHealthy('pool');
  // @ts-expect-error TS2339 the result is keyed by the name given
  void r.llm;
  // @ts-expect-error TS2561 a misspelt indicator option
  await indicator.isHealthy('pool', { minAvailble: 2 });
  return r.pool.status;
}

@Controller()
export class Streams {
  constructor(private readonly llm: LlmRotateService) {}

  @Get('stream')
  @Sse()
  stream(): Observable<ChatSseEvent> {
    return this.llm.sse$('gpt-4o-mini', [{ role: 'user', content: 'hi' }]);
  }
}

export function read(e: ChatSseEvent): string {
  // @ts-expect-error TS2339 an event is a chunk or an error: narrow first
  void e.data.delta;
  if ('type' in e) return `${e.data.type}: ${e.data.message} ${e.data.retryAfterMs ?? ''}`;
  return e.data.delta;
}

export async function reload(llm: LlmRotateService, options: LlmRotateOptions): Promise<void> {
  await llm.reload(options);
  await llm.reload('./registry.json');
  // @ts-expect-error TS2561 a misspelt option name on the service's reload
  await llm.reload({ ...options, stratgy: 'priority' });
  await llm.close({ drainTimeoutMs: 1000 });
}

export const filters = [new LlmRotateExceptionFilter(), new LlmRotateExceptionFilter(undefined, { exposeKeyIds: true })];
// @ts-expect-error TS2561 a misspelt filter option
new LlmRotateExceptionFilter(undefined, { exposeKeyId: true });

export const answer = llmRotateErrorToHttp(new NoAvailableKeyError('none', [], 1000));
export const event = llmRotateErrorToSse(new Error('any error'));
