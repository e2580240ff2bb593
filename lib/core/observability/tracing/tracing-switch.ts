import type { EngineObserver } from '../observer.interfaces';
import { loadOtelApi, requireOtelApi } from './otel.loader';
import { TracingObserver } from './tracing.observer';
import type { OtelProviders } from './tracing.interfaces';

/**
 * Turns an engine's tracing on or off from its `tracing` option (at start-up and on every reload):
 * - unset (default): on when `@opentelemetry/api` is installed, as the original library's OpenTelemetry extra is;
 *   without an SDK registered it costs a few property reads per call, and nothing at all when the API is absent;
 * - `true`: on, and a clear ConfigurationError when the API is not installed;
 * - `false`: off; the API is never loaded.
 * Providers passed to the engine (`deps.otel`) turn it on like `true` unless the option says `false`.
 */
export class TracingSwitch {
  private off: (() => void) | undefined;

  constructor(
    private readonly add: (o: EngineObserver) => () => void,
    private readonly providers: OtelProviders | undefined,
  ) {}

  get enabled(): boolean {
    return this.off !== undefined;
  }

  apply(setting: boolean | undefined): void {
    const api = setting === false ? undefined : setting === true || this.providers !== undefined ? requireOtelApi() : loadOtelApi();
    if (api !== undefined && this.off === undefined) this.off = this.add(new TracingObserver(api, this.providers));
    else if (api === undefined && this.off !== undefined) {
      this.off();
      this.off = undefined;
    }
  }
}
