/** Injection token of the framework-free engine behind `LlmRotateService` (for advanced users and tests). */
export const LLM_ROTATE_ENGINE = Symbol('LLM_ROTATE_ENGINE');
export const LLM_ROTATE_LOGGER_CONTEXT = 'LlmRotate';
