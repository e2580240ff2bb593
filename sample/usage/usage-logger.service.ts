import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { LlmRotateService, type UsageEvent } from '../../lib';

/**
 * Logs the library's usage events (`usage$`) in a short human form: one line per attempt, so the rotation is
 * visible in the server log. When the engine logs them itself (the `logUsage` option, `LLM_LOG_USAGE=log` here),
 * this stays quiet: each event is logged once.
 */
@Injectable()
export class UsageLogger implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('LlmUsage');
  private subscription: Subscription | undefined;

  constructor(private readonly llm: LlmRotateService) {}

  onModuleInit(): void {
    const logUsage = this.llm.engine.options.logUsage;
    if (logUsage !== undefined && logUsage !== false) return;
    this.subscription = this.llm.usage$.subscribe((e) => this.logger.log(describe(e)));
  }

  // Not onModuleDestroy: requests still being served during a graceful shutdown are logged too.
  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }
}

function describe(e: UsageEvent): string {
  const tokens = e.inputTokens !== undefined ? `, ${e.inputTokens}+${e.outputTokens ?? 0} tokens` : '';
  const error = [e.status, e.errorClass].filter((x) => x !== undefined).join(' ');
  return `${e.source} ${e.provider}/${e.model} key=${e.keyId}: ${e.outcome}${error ? ` ${error}` : ''} (${e.latencyMs} ms${tokens})`;
}
