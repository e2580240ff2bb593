import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { LlmRotateHealthIndicator } from '../../lib';

/**
 * `GET /health`: Terminus' report with the key pool under `llm`: `up` while every configured provider has an
 * available key, `down` (HTTP 503) otherwise; per-key states by key id, and the state store's health.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly llm: LlmRotateHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.llm.isHealthy('llm')]);
  }
}
