import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { LlmRotateService, type UsageEvent } from '../../lib';

/** Logs the library's usage events: one line per attempt, so the rotation is visible in the server log. */
@Injectable()
export class UsageLogger implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('LlmUsage');
  private subscription: Subscription | undefined;

  constructor(private readonly llm: LlmRotateService) {}

  onModuleInit(): void {
    this.subscription = this.llm.usage$.subscribe((e) => this.logger.log(describe(e)));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }
}

function describe(e: UsageEvent): string {
  const tokens = e.inputTokens !== undefined ? `, ${e.inputTokens}+${e.outputTokens ?? 0} tokens` : '';
  const error = [e.status, e.errorClass].filter((x) => x !== undefined).join(' ');
  return `${e.source} ${e.provider}/${e.model} key=${e.keyId}: ${e.outcome}${error ? ` ${error}` : ''} (${e.latencyMs} ms${tokens})`;
}
