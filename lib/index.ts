// Nest face
export { LlmRotateModule } from './nest/llm-rotate.module';
export { LlmRotateService, type ChatSseEvent } from './nest/llm-rotate.service';
export { LlmRotateHealthIndicator, type LlmRotateHealthOptions, type LlmRotateHealthResult } from './nest/llm-rotate.health';
export { LLM_ROTATE_ENGINE, LLM_ROTATE_FILTER_OPTIONS, LLM_ROTATE_OPTIONS } from './nest/llm-rotate.constants';
export type {
  ExactOptions,
  LlmRotateModuleAsyncOptions,
  LlmRotateModuleExtras,
  LlmRotateModuleOptions,
  LlmRotateOptionsFactory,
  StrictFactory,
} from './nest/llm-rotate.interfaces';
export { getLlmRotateEngineToken, getLlmRotateHealthToken, getLlmRotateOptionsToken, getLlmRotateToken } from './nest/llm-rotate.tokens';
export { InjectLlmRotate, InjectLlmRotateEngine, InjectLlmRotateHealth } from './nest/llm-rotate.decorators';
export { LlmRotateExceptionFilter, type LlmRotateExceptionFilterOptions } from './nest/llm-rotate.filter';
export {
  llmRotateErrorToHttp,
  llmRotateErrorToSse,
  type LlmRotateErrorBody,
  type LlmRotateHttpAttempt,
  type LlmRotateHttpError,
  type LlmRotateHttpErrorOptions,
  type LlmRotateSseErrorData,
  type LlmRotateSseErrorEvent,
} from './nest/llm-rotate.http-errors';
export { LlmRotateDashboardModule } from './nest/dashboard/llm-rotate-dashboard.module';
export { LlmRotateDashboardService } from './nest/dashboard/dashboard.service';
export type {
  DashboardAction,
  DashboardActionResult,
  DashboardEventView,
  DashboardEventsView,
  DashboardKeyView,
  DashboardProviderView,
  DashboardRecentStats,
  DashboardStateView,
  DashboardStatusView,
  LlmRotateDashboardActions,
  LlmRotateDashboardAsyncOptions,
  LlmRotateDashboardOptions,
  LlmRotateDashboardRuntimeOptions,
} from './nest/dashboard/dashboard.interfaces';

// Framework-free engine
export { LlmRotate, type LlmRotateDeps, type LlmRotateInput } from './core/llm-rotate';
export { AcquireContext } from './core/acquire-context';
export type { ExplicitErrorReport } from './core/classify';
export type { FetchForOptions, RotatingFetch } from './core/fetch/fetch-for.interfaces';
export type { Clock } from './core/clock';
export type { LlmRotateLogger } from './core/logger';
export type { UsageListener } from './core/events';
export { validateOptions } from './core/config/validate';
export { loadOptionsFile } from './core/config/load-file';
export { MAX_TIMER_MS, boundedDelay } from './core/config/bounds';
export {
  fromPythonConfig,
  type PythonDefaults,
  type PythonFallbackChains,
  type PythonFallbackTarget,
  type PythonKeyConfig,
  type PythonProviderName,
  type PythonProviderOverrides,
  type PythonRegistry,
  type PythonRegistryConfig,
  type PythonStateStore,
} from './core/config/python-config';
export type {
  FallbackTarget,
  KeyOptions,
  LlmRotateOptions,
  MemoryStoreOptions,
  ProviderOptions,
  RedisStoreOptions,
  RegistryOptions,
  StateStoreOptions,
  StrategyName,
} from './core/config/options.interfaces';
export type { KeySnapshot, PoolSnapshot } from './core/snapshot.interfaces';
export type { KeyState } from './core/health/health.interfaces';
export type { KeyStateSnapshot, StateStore, StoreHealth } from './core/store/store.interfaces';
export { PROVIDERS } from './core/types';
export type {
  AcquireOptions,
  Attempt,
  AttemptOutcome,
  ChatChunk,
  ChatMessage,
  ChatOptions,
  ChatResult,
  ErrorKind,
  FinishReason,
  ProviderName,
  Role,
  TextPart,
  Usage,
  UsageEvent,
} from './core/types';
export {
  AllKeysExhaustedError,
  CallCancelledError,
  ClosedError,
  ConfigurationError,
  InvalidRequestError,
  LlmRotateError,
  NoAvailableKeyError,
  ProviderBadRequestError,
  ProviderHttpError,
  ProviderTimeoutError,
  ProviderTransportError,
  RequestBuildError,
  SecretResolutionError,
  StreamInterruptedError,
  UnknownModelError,
  UnsupportedFeatureError,
} from './core/errors';
export type { EstimatedCost, ModelPrice, PriceTable } from './core/observability/pricing/price.interfaces';
export { DEFAULT_PRICES, DEFAULT_PRICES_TAKEN } from './core/observability/pricing/default-prices';
export type { KeyUsageTotals, UsageSummary, UsageTotals } from './core/observability/usage-summary';
export type { SecretResolverDefinition, SecretResolverFn, SecretResolvers } from './core/secrets';
export type { AttemptObserver, AttemptStart, CallEnd, CallObserver, CallSource, CallStart, EngineObserver } from './core/observability/observer.interfaces';

// Metrics (prom-client, optional peer) and tracing (@opentelemetry/api, optional peer)
export { LlmRotateMetrics, createLlmRotateMetrics } from './core/observability/metrics/llm-rotate-metrics';
export type { AttachOptions as LlmRotateMetricsAttachOptions, LlmRotateMetricsOptions, MetricsSource, PrometheusRegistry } from './core/observability/metrics/metrics.interfaces';
export type { OtelProviders } from './core/observability/tracing/tracing.interfaces';
export { LlmRotateMetricsModule } from './nest/metrics/llm-rotate-metrics.module';
export type { LlmRotateMetricsModuleOptions } from './nest/metrics/llm-rotate-metrics.interfaces';
