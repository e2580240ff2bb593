import { Inject, Injectable } from '@nestjs/common';
import type { ProviderName } from '../core/types';
import { LlmRotateService } from './llm-rotate.service';

export interface LlmRotateHealthOptions {
  /** Each configured provider needs at least this many available keys to be `up`. Default 1. */
  minAvailable?: number;
}

/**
 * Terminus' `HealthIndicatorResult`, written out so that these typings need no `@nestjs/terminus` (an optional
 * peer): `health.check([() => indicator.isHealthy('llm')])` accepts it as it is.
 */
export type LlmRotateHealthResult<Key extends string = string> = Record<Key, { status: 'up' | 'down'; [detail: string]: unknown }>;

/** The part of Terminus' `HealthIndicatorService` used here. */
interface IndicatorSessions {
  check<Key extends string>(key: Key): {
    up(details: Record<string, unknown>): LlmRotateHealthResult<Key>;
    down(details: Record<string, unknown>): LlmRotateHealthResult<Key>;
  };
}

/**
 * Terminus indicator of one key pool: `up` while every configured provider has `minAvailable` available keys,
 * `down` otherwise; details list the providers, each key's state (key ids only) and the state store's health
 * (`memory`, or `redis` `up`/`degraded`). Terminus is loaded only when this indicator is used. A named pool has its
 * own: `@InjectLlmRotateHealth('cheap')`.
 */
@Injectable()
export class LlmRotateHealthIndicator {
  private indicators: IndicatorSessions | undefined;

  constructor(@Inject(LlmRotateService) private readonly llm: LlmRotateService) {}

  async isHealthy<Key extends string = 'llm'>(key: Key = 'llm' as Key, options: LlmRotateHealthOptions = {}): Promise<LlmRotateHealthResult<Key>> {
    const min = options.minAvailable ?? 1;
    const snap = await this.llm.snapshot();
    const short: ProviderName[] = [];
    for (const [p, v] of Object.entries(snap.providers)) if (v.available < min) short.push(p as ProviderName);
    const details = {
      strategy: snap.strategy,
      store: snap.store,
      providers: snap.providers,
      keys: Object.fromEntries(
        snap.keys.map((k) => [
          k.keyId,
          // `reason`: why this process holds a healthy key back (its secret cannot be resolved): health tells the truth before the first call.
          { provider: k.provider, state: k.state, until: k.until, available: k.available, consecutiveFailures: k.consecutiveFailures, leasesInUse: k.leasesInUse, ...(k.reason !== undefined ? { reason: k.reason } : {}) },
        ]),
      ),
    };
    const session = this.session().check(key);
    if (short.length > 0) {
      return session.down({ ...details, message: `No available key for ${short.join(', ')} (need ${min} each)` });
    }
    return session.up(details);
  }

  private session(): IndicatorSessions {
    if (this.indicators === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { HealthIndicatorService: Impl } = require('@nestjs/terminus') as { HealthIndicatorService: new () => IndicatorSessions };
      this.indicators = new Impl();
    }
    return this.indicators;
  }
}
