import type { Counter, Meter } from '@opentelemetry/api';
import type { UsageEvent } from '../../types';
import type { CallSource } from '../observer.interfaces';
import { ATTR, SEMCONV_PROVIDER } from './span-attributes';

/**
 * The OpenTelemetry counters (the original library's extra has the same three, plus fallbacks): attempts, failed
 * attempts, rotations and fallback attempts, through the metrics API. Built only when a real MeterProvider is
 * registered (or given); with none, nothing is counted here at all.
 */
export class OtelCounters {
  private readonly attempts: Counter;
  private readonly errors: Counter;
  private readonly rotations: Counter;
  private readonly fallbacks: Counter;

  /** `meter`: a Meter of `@opentelemetry/api` (typed loosely so that the declarations do not name the package). */
  constructor(meterObject: object) {
    const meter = meterObject as Meter;
    this.attempts = meter.createCounter('llm_rotate.attempts', { description: 'Attempts (one per key tried), by provider, model, key and outcome.', unit: '{attempt}' });
    this.errors = meter.createCounter('llm_rotate.errors', { description: 'Failed attempts (rate_limit, auth, transient, bad_request, local_error), by provider, model, key, outcome and error.type.', unit: '{attempt}' });
    this.rotations = meter.createCounter('llm_rotate.rotations', { description: "Attempts after a call's first: the call moved on to another key.", unit: '{attempt}' });
    this.fallbacks = meter.createCounter('llm_rotate.fallbacks', { description: 'Attempts made for a fallback step (another model or provider than the one asked for).', unit: '{attempt}' });
  }

  record(source: CallSource, e: UsageEvent): void {
    const base = { [ATTR.provider]: SEMCONV_PROVIDER[e.provider], [ATTR.requestModel]: e.model, [ATTR.source]: source };
    const keyed = { ...base, [ATTR.keyId]: e.keyId, [ATTR.outcome]: e.outcome };
    this.attempts.add(1, keyed);
    if (e.outcome !== 'success' && e.outcome !== 'cancelled') this.errors.add(1, { ...keyed, [ATTR.errorType]: e.errorClass ?? e.outcome });
    if (e.attempt > 1) this.rotations.add(1, base);
    if (e.fallback) this.fallbacks.add(1, base);
  }
}
