/** Injection token of the default pool's framework-free engine (for advanced users and tests). */
export const LLM_ROTATE_ENGINE = Symbol('LLM_ROTATE_ENGINE');
/** Injection token of the default pool's options, as `forRoot` / `forRootAsync` produced them (before validation). */
export const LLM_ROTATE_OPTIONS = Symbol('LLM_ROTATE_OPTIONS');
/** Injection token of the options of `LlmRotateExceptionFilter` when it is registered as `APP_FILTER` with `useClass`. */
export const LLM_ROTATE_FILTER_OPTIONS = Symbol('LLM_ROTATE_FILTER_OPTIONS');
export const LLM_ROTATE_LOGGER_CONTEXT = 'LlmRotate';
