/** Injection token of the pool names `LlmRotateMetricsModule` reports. */
export const LLM_ROTATE_METRICS_POOLS = Symbol('LLM_ROTATE_METRICS_POOLS');
