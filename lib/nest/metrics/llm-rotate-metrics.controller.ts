import { Controller, Get, Header, Inject, type Type } from '@nestjs/common';
import { LlmRotateMetrics } from '../../core/observability/metrics/llm-rotate-metrics';

/** A controller serving `GET /<path>` with the registry's exposition text, built per registration (its path is decorated in). */
export function createMetricsController(path: string, contentType: string): Type<unknown> {
  @Controller(path)
  class LlmRotateMetricsController {
    constructor(@Inject(LlmRotateMetrics) private readonly metrics: LlmRotateMetrics) {}

    @Get()
    @Header('Content-Type', contentType)
    @Header('Cache-Control', 'no-store')
    scrape(): Promise<string> {
      return this.metrics.metrics();
    }
  }
  return LlmRotateMetricsController;
}
