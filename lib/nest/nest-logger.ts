import { Logger, type LogLevel } from '@nestjs/common';
import type { LlmRotateLogger } from '../core/logger';
import { LLM_ROTATE_LOGGER_CONTEXT } from './llm-rotate.constants';

/** The engine's logger on top of Nest's: honours the app's log levels, and skips debug work when debug is off. */
export function nestLogger(context: string = LLM_ROTATE_LOGGER_CONTEXT): LlmRotateLogger {
  const logger = new Logger(context);
  return {
    debug: (m) => logger.debug(m),
    verbose: (m) => logger.verbose(m),
    log: (m) => logger.log(m),
    warn: (m) => logger.warn(m),
    error: (m) => logger.error(m),
    // Levels are known only when the app set them (`logger: [...]`); a custom logger filters on its own.
    isDebugEnabled: () => (Logger as unknown as { logLevels?: LogLevel[] }).logLevels === undefined || Logger.isLevelEnabled('debug'),
  };
}
