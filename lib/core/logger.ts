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

export const consoleLogger: LlmRotateLogger = {
  warn: (m) => console.warn(`[llm-rotate] ${m}`),
  error: (m) => console.error(`[llm-rotate] ${m}`),
};
