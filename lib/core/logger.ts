/** What the engine logs through. The Nest service passes Nest's Logger; plain scripts get the console. */
export interface LlmRotateLogger {
  debug?(message: string): void;
  verbose?(message: string): void;
  log?(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Lets the engine skip building debug lines nobody will see. */
  isDebugEnabled?(): boolean;
}

/** Outside Nest: the console. The engine logs warnings and errors on its own; usage lines only with `logUsage`. */
export const consoleLogger: LlmRotateLogger = {
  debug: (m) => console.debug(`[llm-rotate] ${m}`),
  verbose: (m) => console.debug(`[llm-rotate] ${m}`),
  log: (m) => console.log(`[llm-rotate] ${m}`),
  warn: (m) => console.warn(`[llm-rotate] ${m}`),
  error: (m) => console.error(`[llm-rotate] ${m}`),
};
